/**
 * Lambda entry point of the first task of every state machine: `{ workflow, input, execution }` in, the
 * prepared state (validated input, derived names, SageMaker requests) out. Wiring only; the work is
 * `prepareWorkflow`. A refused input throws `WorkflowInputError`, which Step Functions reports as the
 * execution's error, with the message naming each offending field.
 */
import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import {
  prepareEnvironmentFrom,
  prepareWorkflow,
  type PrepareEnvironment,
  type PrepareWorkflowEvent,
  type PreparedWorkflow,
} from '../src/workflows/prepare-workflow';
import { WorkflowInputError } from '../src/workflows/workflow-schemas';

/** Builds the handler around given settings (tests and the local stack pass their own) or the environment's. */
export function createHandler(options: { env?: PrepareEnvironment; logger?: Logger } = {}) {
  const logger = options.logger ?? new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'prepare-workflow' });
  const env = options.env ?? prepareEnvironmentFrom();

  const prepare = async (event: PrepareWorkflowEvent, _context: Context): Promise<PreparedWorkflow> => {
    try {
      const prepared = prepareWorkflow(event, env);
      logger.info('workflow prepared', { workflow: event.workflow, execution: event.execution?.name });
      return prepared;
    } catch (error) {
      // A refused input is the caller's mistake, not this function's: log it as a warning with its fields.
      if (error instanceof WorkflowInputError) {
        logger.warn('workflow input refused', { workflow: event.workflow, problems: error.problems });
      } else {
        logger.error('workflow preparation failed', { workflow: event.workflow, error });
      }
      throw error;
    }
  };

  return middy(prepare).use(injectLambdaContext(logger));
}

export const handler = createHandler();
