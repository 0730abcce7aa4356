/**
 * The errors the Step Functions API answers with, by their AWS names (`StateMachineDoesNotExist`,
 * `ExecutionAlreadyExists`, ...), so the SDK and the AWS CLI raise the same exceptions they raise on AWS.
 */

/** An error of the Step Functions API: `code` is the AWS error name, sent as `__type`. */
export class StepFunctionsApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'StepFunctionsApiError';
  }
}

/** Builds the API error named `code`. */
function apiError(code: string) {
  return (message: string) => new StepFunctionsApiError(code, message);
}

export const stateMachineDoesNotExist = apiError('StateMachineDoesNotExist');
export const stateMachineAlreadyExists = apiError('StateMachineAlreadyExists');
export const stateMachineTypeNotSupported = apiError('StateMachineTypeNotSupported');
export const executionDoesNotExist = apiError('ExecutionDoesNotExist');
export const executionAlreadyExists = apiError('ExecutionAlreadyExists');
export const invalidDefinition = apiError('InvalidDefinition');
export const invalidArn = apiError('InvalidArn');
export const invalidName = apiError('InvalidName');
export const invalidExecutionInput = apiError('InvalidExecutionInput');
export const invalidToken = apiError('InvalidToken');
export const validationException = apiError('ValidationException');

/** The request named an operation this service does not implement. */
export class UnknownOperationError extends StepFunctionsApiError {
  constructor(target: string) {
    super('UnknownOperationException', `The local Step Functions does not implement ${JSON.stringify(target)}`);
    this.name = 'UnknownOperationError';
  }
}
