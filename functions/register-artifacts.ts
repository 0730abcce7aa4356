/**
 * Lambda entry point of the registration function: SQS batches of S3 notifications from the
 * artifacts bucket. Wiring only: each record's body goes to `processNotificationMessage`; a record
 * that throws (a transient failure) is reported in `batchItemFailures`, so only it returns to the
 * queue, is retried, and ends in the DLQ if it keeps failing.
 */
import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  createDynamoDocumentClient,
  createS3Client,
  createSageMakerClient,
  createSageMakerRuntimeClient,
} from '../src/aws/clients';
import {
  DynamoRegistry,
  processNotificationMessage,
  registrationConfigFromEnv,
  type MultiModelDeps,
} from '../src/multimodel';

/** Builds the use case's dependencies from the environment `serverless.yml` sets. */
export function depsFromEnv(logger: Logger, env: NodeJS.ProcessEnv = process.env): MultiModelDeps {
  const config = registrationConfigFromEnv(env);
  return {
    s3: createS3Client(),
    registry: new DynamoRegistry(createDynamoDocumentClient(), config.registryTable),
    sagemaker: createSageMakerClient(),
    sagemakerRuntime: createSageMakerRuntimeClient(),
    config,
    logger,
  };
}

/**
 * Builds the handler around given dependencies (tests and the local stack pass their own), or
 * around ones built from the environment on the first invocation.
 */
export function createHandler(options: { deps?: MultiModelDeps; logger?: Logger } = {}) {
  const logger = options.logger ?? new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'register-artifacts' });
  let deps = options.deps;
  const processor = new BatchProcessor(EventType.SQS);

  const recordHandler = async (record: SQSRecord) => {
    deps ??= depsFromEnv(logger);
    // Records run side by side, so each gets its own child logger (with the Lambda context of the parent)
    // rather than keys appended to the shared one, which interleaved lines would misattribute.
    const recordLogger = logger.createChild({ persistentKeys: { messageId: record.messageId } });
    try {
      return await processNotificationMessage({ ...deps, logger: recordLogger }, record.body);
    } catch (error) {
      recordLogger.error('record failed; it goes back to the queue', { error: error as Error });
      throw error;
    }
  };

  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    // In parallel: a registration is a chain of waits on S3, DynamoDB and SageMaker, so records overlap
    // their I/O. Memory stays bounded per record (archives are streamed, never buffered), so a batch of 10
    // costs 10 stream buffers, not 10 archives.
    processPartialResponse(event, recordHandler, processor, { context, processInParallel: true }),
  ).use(injectLambdaContext(logger));
}

export const handler = createHandler();
