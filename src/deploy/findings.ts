/** The checks run on a packaged template; each finding names the one that failed. */
export type CheckName =
  | 'intrinsics'
  | 'schema'
  | 'read-only-property'
  | 'iam-policy-shape'
  | 'iam-action-exists'
  | 'iam-wildcard-action'
  | 'iam-star-resource'
  | 'iam-resource-scope'
  | 'iam-pass-role-condition'
  | 'lambda-own-role'
  | 'state-machine-own-role'
  | 'state-machine-permissions'
  | 'schedule-target'
  | 'queue-visibility-timeout'
  | 'bucket-public-access'
  | 'bucket-tls-only'
  | 'notification-queue-policy'
  | 'state-machine-definition';

/** One rule a template breaks: which check, on which resource, and why, in words a reader can act on. */
export interface TemplateFinding {
  check: CheckName;
  /** Logical id of the resource at fault, when one is. */
  resource?: string;
  message: string;
}

/** A one-line rendering for test failures and command output. */
export function formatFinding(finding: TemplateFinding): string {
  return `[${finding.check}]${finding.resource ? ` ${finding.resource}:` : ''} ${finding.message}`;
}
