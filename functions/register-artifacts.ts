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
    logger.appendKeys({ messageId: record.messageId });
    try {
      return await processNotificationMessage(deps, record.body);
    } catch (error) {
      logger.error('record failed; it goes back to the queue', { messageId: record.messageId, error: error as Error });
      throw error;
    } finally {
      logger.removeKeys(['messageId']);
    }
  };

  return middy(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    // Sequential on purpose: records stream whole archives, and a Lambda's one or two vCPUs hash no
    // faster in parallel, while memory would grow with the batch.
    processPartialResponse(event, recordHandler, processor, { context, processInParallel: false }),
  ).use(injectLambdaContext(logger));
}

export const handler = createHandler();
