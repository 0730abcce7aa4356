/**
 * What the multi-model use cases are given instead of building it themselves (ports and adapters): a
 * test hands them mocked clients or clients pointed at local servers, the Lambda hands them the real ones.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { RegistrationConfig } from './config';
import type { Registry } from './registry';

/** The slice of a structured logger the use cases call (Powertools' `Logger` fits it). */
export interface LoggerPort {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** A logger that drops everything, for callers that do not log (the command line, tests). */
export const silentLogger: LoggerPort = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export interface MultiModelDeps {
  s3: S3Client;
  registry: Registry;
  sagemaker: SageMakerClient;
  sagemakerRuntime: SageMakerRuntimeClient;
  config: RegistrationConfig;
  logger?: LoggerPort;
  /** The clock, for timestamps. */
  now?: () => Date;
  /** Waits between warm-up attempts; tests pass one that does not wait. */
  sleep?: (ms: number) => Promise<void>;
}
