import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SFNClient } from '@aws-sdk/client-sfn';
import { STSClient } from '@aws-sdk/client-sts';

/**
 * Options shared by every client. The endpoint normally comes from the SDK's own standard variables
 * (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, ...), so nothing here is needed on AWS; tests pass an
 * explicit endpoint to point one client at one server.
 */
export interface ClientOptions {
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts?: number;
}

/** Every AWS client the project uses, built in one place. */
export interface AwsClients {
  s3: S3Client;
  dynamo: DynamoDBDocumentClient;
  sagemaker: SageMakerClient;
  sagemakerRuntime: SageMakerRuntimeClient;
  sqs: SQSClient;
  sfn: SFNClient;
  sts: STSClient;
}

function baseConfig(options: ClientOptions) {
  return {
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  };
}

/** True when requests go to a custom endpoint (the local stack), which needs path-style S3 addressing. */
export function usesCustomEndpoint(options: ClientOptions = {}): boolean {
  return Boolean(options.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL);
}

export function createS3Client(options: ClientOptions = {}): S3Client {
  return new S3Client({ ...baseConfig(options), forcePathStyle: usesCustomEndpoint(options) });
}

export function createDynamoDocumentClient(options: ClientOptions = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(baseConfig(options)), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function createSageMakerClient(options: ClientOptions = {}): SageMakerClient {
  return new SageMakerClient(baseConfig(options));
}

export function createSageMakerRuntimeClient(options: ClientOptions = {}): SageMakerRuntimeClient {
  return new SageMakerRuntimeClient(baseConfig(options));
}

export function createSqsClient(options: ClientOptions = {}): SQSClient {
  return new SQSClient(baseConfig(options));
}

export function createStsClient(options: ClientOptions = {}): STSClient {
  return new STSClient(baseConfig(options));
}

export function createSfnClient(options: ClientOptions = {}): SFNClient {
  return new SFNClient(baseConfig(options));
}

/** Builds every client with the same options. */
export function createClients(options: ClientOptions = {}): AwsClients {
  return {
    s3: createS3Client(options),
    dynamo: createDynamoDocumentClient(options),
    sagemaker: createSageMakerClient(options),
    sagemakerRuntime: createSageMakerRuntimeClient(options),
    sqs: createSqsClient(options),
    sfn: createSfnClient(options),
    sts: createStsClient(options),
  };
}
