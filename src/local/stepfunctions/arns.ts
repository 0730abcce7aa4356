/**
 * Step Functions ARNs: `arn:aws:states:<region>:<account>:stateMachine:<name>` and
 * `arn:aws:states:<region>:<account>:execution:<stateMachineName>:<executionName>`, and the name rules
 * state machines and executions share.
 */
import { invalidArn, invalidName } from './api-errors';

export interface ArnScope {
  region: string;
  accountId: string;
}

/** 1 to 80 characters, none of them whitespace, brackets, wildcards, punctuation AWS reserves or controls. */
const FORBIDDEN_NAME_CHARACTERS = /[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/;

/** Checks a state machine or execution name against the API's rule; `what` names the field in the error. */
export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > 80 || FORBIDDEN_NAME_CHARACTERS.test(name)) {
    throw invalidName(
      `Invalid Name: '${String(name)}' (${what} must be 1 to 80 characters without whitespace, brackets, wildcards, or any of " # % \\ ^ | ~ \` $ & , ; : /)`,
    );
  }
  return name;
}

/** The ARN of the state machine `name`. */
export function stateMachineArn(scope: ArnScope, name: string): string {
  return `arn:aws:states:${scope.region}:${scope.accountId}:stateMachine:${name}`;
}

/** The ARN of execution `executionName` of state machine `stateMachineName`. */
export function executionArn(scope: ArnScope, stateMachineName: string, executionName: string): string {
  return `arn:aws:states:${scope.region}:${scope.accountId}:execution:${stateMachineName}:${executionName}`;
}

const STATE_MACHINE_ARN = /^arn:aws[\w-]*:states:([\w-]+):(\d{12}):stateMachine:([^:]+)$/;
const EXECUTION_ARN = /^arn:aws[\w-]*:states:([\w-]+):(\d{12}):execution:([^:]+):([^:]+)$/;

/** The name in a state machine ARN; `field` names the request member in the `InvalidArn` message. */
export function parseStateMachineArn(arn: unknown, field = 'stateMachineArn'): { name: string } {
  const match = typeof arn === 'string' ? STATE_MACHINE_ARN.exec(arn) : null;
  if (!match) throw invalidArn(`Invalid Arn: '${String(arn)}' (${field} must look like arn:aws:states:<region>:<account>:stateMachine:<name>)`);
  return { name: match[3]! };
}

/** The state machine and execution names in an execution ARN. */
export function parseExecutionArn(arn: unknown, field = 'executionArn'): { stateMachineName: string; name: string } {
  const match = typeof arn === 'string' ? EXECUTION_ARN.exec(arn) : null;
  if (!match) {
    throw invalidArn(`Invalid Arn: '${String(arn)}' (${field} must look like arn:aws:states:<region>:<account>:execution:<stateMachine>:<name>)`);
  }
  return { stateMachineName: match[3]!, name: match[4]! };
}

/** Checks an IAM role ARN, which state machines carry but the local engine does not assume. */
export function checkRoleArn(arn: unknown): string {
  if (typeof arn !== 'string' || !/^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@\-/]+$/.test(arn)) {
    throw invalidArn(`Invalid Arn: '${String(arn)}' (roleArn must be an IAM role ARN, arn:aws:iam::<account>:role/<name>)`);
  }
  return arn;
}
