/**
 * Step Functions as the local stack runs it: the state machines `serverless.yml` declares registered at start
 * (created, or updated when their definition changed), their Lambda tasks run by the real handlers in this
 * process, and their schedules armed on the local scheduler. The stack hands `handle` every request the edge
 * routes to `states`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, resolve } from 'node:path';
import { LocalScheduler, type FireOutcome } from '../scheduler/scheduler';
import { ServerlessConfigError } from '../serverless/errors';
import type { ReadStackConfigOptions } from '../serverless/stack-config';
import { functionsFromSpecs } from './lambda-functions';
import type { ServiceName } from './sdk-calls';
import { readServerlessStepFunctions, type StateMachineSpec } from './serverless-state-machines';
import { createStepFunctionsService, type StepFunctionsService } from './stepfunctions-service';

export interface LocalStepFunctionsOptions {
  /** The `serverless.yml` declaring the state machines and schedules. */
  serverlessYml: string;
  /** `opt:` values (`stage`, `region`, ...) and the environment for its variables. */
  readOptions?: ReadStackConfigOptions;
  /** The edge URL: the endpoint of every service tasks call, and `AWS_ENDPOINT_URL` of in-process functions. */
  endpointUrl: string;
  /** Credentials of the clients tasks use; any pair suits the edge. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Other endpoints for some services (tests without an edge). */
  endpoints?: Partial<Record<ServiceName, string>>;
  timeScale: number;
  /** Where state machines and finished executions are kept. */
  dataDir?: string;
  /** Arm the schedules; default true. */
  runSchedules?: boolean;
  /** Delivers a scheduled run that could not be started to its dead-letter queue (the local SQS). */
  deliverDeadLetter?(queueArn: string, body: string, attributes: Record<string, string>): Promise<void>;
  onScheduleFired?(outcome: FireOutcome): void;
  log?(line: string): void;
}

export interface LocalStepFunctions {
  service: StepFunctionsService;
  scheduler: LocalScheduler;
  stateMachines: StateMachineSpec[];
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): Promise<void>;
}

/** Reads `serverless.yml`, registers its state machines and arms its schedules. */
export async function startLocalStepFunctions(options: LocalStepFunctionsOptions): Promise<LocalStepFunctions> {
  const serverlessYml = resolve(options.serverlessYml);
  const config = readServerlessStepFunctions(serverlessYml, options.readOptions);
  for (const warning of config.warnings) options.log?.(`serverless.yml: ${warning}`);
  const { region, accountId } = config.stackConfig;
  const functions = functionsFromSpecs(config.stackConfig.functions, {
    serviceDir: dirname(serverlessYml),
    region,
    accountId,
    endpointUrl: options.endpointUrl,
    ...(options.log ? { onWarning: options.log } : {}),
  });
  const service = createStepFunctionsService({
    region,
    accountId,
    timeScale: options.timeScale,
    clientOptions: { endpoint: options.endpointUrl, region, credentials: options.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' } },
    ...(options.endpoints ? { endpoints: options.endpoints } : {}),
    functions,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  });
  try {
    for (const machine of config.stateMachines) {
      try {
        service.registerStateMachine({ name: machine.name, definition: machine.definition, roleArn: machine.roleArn });
      } catch (error) {
        throw new ServerlessConfigError(`serverless.yml: stepFunctions.stateMachines.${machine.key} cannot be created: ${(error as Error).message}`);
      }
      options.log?.(`state machine ${machine.name} registered`);
    }
    const scheduler = new LocalScheduler({
      schedules: config.schedules,
      region,
      accountId,
      timeScale: options.timeScale,
      startExecution: async (stateMachineArn, input) => service.startExecution({ stateMachineArn, input }),
      ...(options.deliverDeadLetter ? { deliverDeadLetter: options.deliverDeadLetter } : {}),
      ...(options.onScheduleFired ? { onFire: options.onScheduleFired } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    if (options.runSchedules ?? true) scheduler.start();
    return {
      service,
      scheduler,
      stateMachines: config.stateMachines,
      handle: (req, res) => service.handle(req, res),
      async close() {
        await scheduler.stop();
        await service.close();
      },
    };
  } catch (error) {
    await service.close();
    throw error;
  }
}
