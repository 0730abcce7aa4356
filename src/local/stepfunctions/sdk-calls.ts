/**
 * Calls an AWS API by its Step Functions name (`sagemaker` + `describeEndpoint`) through the project's SDK
 * clients (src/aws/clients.ts), and turns the answer into the JSON a state receives: no `$metadata`, dates
 * as ISO 8601 text, streamed bodies read as text, binary values as base64.
 */
import * as DynamoDbSdk from '@aws-sdk/client-dynamodb';
import * as S3Sdk from '@aws-sdk/client-s3';
import * as SageMakerSdk from '@aws-sdk/client-sagemaker';
import * as SfnSdk from '@aws-sdk/client-sfn';
import * as SqsSdk from '@aws-sdk/client-sqs';
import * as StsSdk from '@aws-sdk/client-sts';
import {
  createDynamoDocumentClient,
  createS3Client,
  createSageMakerClient,
  createSfnClient,
  createSqsClient,
  createStsClient,
  type ClientOptions,
} from '../../aws/clients';

/** The services tasks may call, by the name Step Functions gives them in resource ARNs. */
export type ServiceName = 'sagemaker' | 's3' | 'dynamodb' | 'sqs' | 'sts' | 'sfn';

interface SdkClient {
  send(command: unknown): Promise<unknown>;
  destroy(): void;
}

interface ServiceEntry {
  /** The service part of the error names AWS SDK integrations raise (`SageMaker.ResourceNotFoundException`). */
  errorPrefix: string;
  commands: Record<string, unknown>;
  create(options: ClientOptions): SdkClient;
}

const SERVICES: Record<ServiceName, ServiceEntry> = {
  sagemaker: { errorPrefix: 'SageMaker', commands: SageMakerSdk, create: (o) => createSageMakerClient(o) as unknown as SdkClient },
  s3: { errorPrefix: 'S3', commands: S3Sdk, create: (o) => createS3Client(o) as unknown as SdkClient },
  // The document client shares its configuration with the plain client, and plain commands pass through
  // it untouched, so AWS-shaped attribute values reach DynamoDB as the state machine wrote them.
  dynamodb: { errorPrefix: 'DynamoDb', commands: DynamoDbSdk, create: (o) => createDynamoDocumentClient(o) as unknown as SdkClient },
  sqs: { errorPrefix: 'Sqs', commands: SqsSdk, create: (o) => createSqsClient(o) as unknown as SdkClient },
  sts: { errorPrefix: 'Sts', commands: StsSdk, create: (o) => createStsClient(o) as unknown as SdkClient },
  sfn: { errorPrefix: 'Sfn', commands: SfnSdk, create: (o) => createSfnClient(o) as unknown as SdkClient },
};

/** True for a service tasks may call through `arn:aws:states:::aws-sdk:<service>:<action>`. */
export function isServiceName(name: string): name is ServiceName {
  return Object.hasOwn(SERVICES, name);
}

/** The services tasks may call, for error messages. */
export function serviceNames(): ServiceName[] {
  return Object.keys(SERVICES) as ServiceName[];
}

/** The error-name prefix of AWS SDK integrations for `service`. */
export function errorPrefix(service: ServiceName): string {
  return SERVICES[service].errorPrefix;
}

/** `describeEndpoint` → `DescribeEndpointCommand`, or `undefined` when the SDK has no such operation. */
export function commandClass(service: ServiceName, action: string): (new (input: unknown) => unknown) | undefined {
  if (!/^[a-z][A-Za-z0-9]*$/.test(action)) return undefined;
  const candidate = SERVICES[service].commands[`${action[0]!.toUpperCase()}${action.slice(1)}Command`];
  return typeof candidate === 'function' ? (candidate as new (input: unknown) => unknown) : undefined;
}

/** Clients per service, built once, pointed at the endpoint given for that service or the default one. */
export class SdkClients {
  private readonly clients = new Map<ServiceName, SdkClient>();

  constructor(
    private readonly options: ClientOptions,
    private readonly endpoints: Partial<Record<ServiceName, string>> = {},
  ) {}

  client(service: ServiceName): SdkClient {
    let client = this.clients.get(service);
    if (!client) {
      const endpoint = this.endpoints[service] ?? this.options.endpoint;
      // One attempt: retrying is the state machine's business (its Retry fields), as on AWS.
      client = SERVICES[service].create({ ...this.options, ...(endpoint ? { endpoint } : {}), maxAttempts: 1 });
      this.clients.set(service, client);
    }
    return client;
  }

  /** Sends `action` with `parameters` and returns the answer as state JSON. */
  async call(service: ServiceName, action: string, parameters: unknown): Promise<unknown> {
    const Command = commandClass(service, action);
    if (!Command) throw new Error(`${service} has no operation ${action}`);
    const output = await this.client(service).send(new Command(parameters ?? {}));
    return toStateJson(output);
  }

  destroy(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }
}

function isStream(value: unknown): value is { transformToString(): Promise<string> } {
  return typeof value === 'object' && value !== null && typeof (value as { transformToString?: unknown }).transformToString === 'function';
}

/** An SDK answer as the JSON a state receives. */
export async function toStateJson(value: unknown): Promise<unknown> {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return value.toISOString();
  if (isStream(value)) return value.transformToString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return Promise.all(value.map((item) => toStateJson(item)));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === '$metadata' || item === undefined) continue;
      out[key] = await toStateJson(item);
    }
    return out;
  }
  if (typeof value === 'bigint') return Number(value);
  return value;
}
