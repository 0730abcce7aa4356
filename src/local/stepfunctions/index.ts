/**
 * The local Step Functions (DESIGN.md §3): the Step Functions API over `aws-local-stepfunctions`, with one
 * generic task dispatcher for SageMaker, AWS SDK, DynamoDB and Lambda tasks, on the local time scale.
 */
export { createStepFunctionsService, STEP_FUNCTIONS_STATE_FILE } from './stepfunctions-service';
export type { StartedExecution, StateMachineRecord, StepFunctionsService, StepFunctionsServiceOptions } from './stepfunctions-service';
export { startStepFunctionsServer } from './server';
export type { StepFunctionsServer } from './server';
export { StepFunctionsApiError } from './api-errors';
export { executionArn, parseExecutionArn, parseStateMachineArn, stateMachineArn } from './arns';
export { collectStates, engineDefinition, parseDefinition } from './definition';
export type { Definition, State } from './definition';
export type { ExecutionRecord, ExecutionStatus, HistoryEvent } from './execution';
export { functionNameOf, functionsFromSpecs } from './lambda-functions';
export type { FunctionResolver, LocalFunction } from './lambda-functions';
export { parseResource, resourceNames, TaskDispatcher, TaskFailedError } from './task-dispatcher';
export type { TaskResource } from './task-dispatcher';
export { SdkClients } from './sdk-calls';
export type { ServiceName } from './sdk-calls';
export { readServerlessStepFunctions, stateMachineLogicalId } from './serverless-state-machines';
export type { ServerlessStepFunctions, StateMachineSpec } from './serverless-state-machines';
export { startLocalStepFunctions } from './local-step-functions';
export type { LocalStepFunctions, LocalStepFunctionsOptions } from './local-step-functions';
