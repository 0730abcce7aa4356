/**
 * Checks on how resources fit together, beyond what any one resource's schema can say: each function runs
 * under a role of its own, SQS-fed functions cannot outlive their message's invisibility, buckets are private
 * and TLS-only, and bucket notifications reach queues that let that bucket (and only it) send.
 */
import type { TemplateFinding } from './findings';
import type { ResolvedResource, TemplateEvaluator } from '../cloudformation/intrinsics';
import type { PolicyStatement } from './policy-documents';
import { type CfnTemplate, isRecord, referencedLogicalId } from '../cloudformation/template';

/** AWS's guidance for SQS event sources: visibility timeout at least six times the function timeout. */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
// CloudFormation defaults when the property is absent.
const DEFAULT_LAMBDA_TIMEOUT = 3;
const DEFAULT_VISIBILITY_TIMEOUT = 30;

function ofType(template: CfnTemplate, type: string): [string, Record<string, unknown>][] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([logicalId, resource]) => [logicalId, resource.Properties ?? {}]);
}

/**
 * Every `AWS::Lambda::Function` takes its role from `Fn::GetAtt [<role>, Arn]` of an `AWS::IAM::Role` in the
 * template that Lambda may assume, and no two functions share a role. Read from the unresolved template,
 * where the reference is still visible.
 */
export function checkLambdaRoles(template: CfnTemplate): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  const users = new Map<string, string[]>();
  for (const [logicalId, properties] of ofType(template, 'AWS::Lambda::Function')) {
    const role = properties.Role;
    const roleId = isRecord(role) && role['Fn::GetAtt'] !== undefined ? referencedLogicalId(role) : undefined;
    const roleResource = roleId === undefined ? undefined : template.Resources[roleId];
    if (roleId === undefined || roleResource?.Type !== 'AWS::IAM::Role') {
      findings.push({
        check: 'lambda-own-role',
        resource: logicalId,
        message: `Role must be Fn::GetAtt [<role>, Arn] of an AWS::IAM::Role in this template, got ${JSON.stringify(role)}`,
      });
      continue;
    }
    users.set(roleId, [...(users.get(roleId) ?? []), logicalId]);
    const trust = JSON.stringify(roleResource.Properties?.AssumeRolePolicyDocument ?? null);
    if (!trust.includes('lambda.amazonaws.com')) {
      findings.push({
        check: 'lambda-own-role',
        resource: logicalId,
        message: `role ${roleId} does not let lambda.amazonaws.com assume it`,
      });
    }
  }
  for (const [roleId, functions] of users) {
    if (functions.length > 1) {
      findings.push({
        check: 'lambda-own-role',
        resource: roleId,
        message: `role is shared by ${functions.join(', ')}; each function needs its own, least-privilege role`,
      });
    }
  }
  return findings;
}

/**
 * For each event source mapping from a queue of the template to a function of the template: the queue's
 * visibility timeout is at least {@link VISIBILITY_TIMEOUT_FACTOR} times the function's timeout, so a batch
 * still being processed never becomes visible to another poller.
 */
export function checkQueueVisibility(template: CfnTemplate, resolved: ReadonlyMap<string, ResolvedResource>): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  for (const [logicalId, properties] of ofType(template, 'AWS::Lambda::EventSourceMapping')) {
    const queue = resolved.get(referencedLogicalId(properties.EventSourceArn) ?? '');
    const fn = resolved.get(referencedLogicalId(properties.FunctionName) ?? '');
    if (queue?.type !== 'AWS::SQS::Queue' || fn?.type !== 'AWS::Lambda::Function') continue;
    const visibility = Number(queue.properties.VisibilityTimeout ?? DEFAULT_VISIBILITY_TIMEOUT);
    const timeout = Number(fn.properties.Timeout ?? DEFAULT_LAMBDA_TIMEOUT);
    if (!(visibility >= VISIBILITY_TIMEOUT_FACTOR * timeout)) {
      findings.push({
        check: 'queue-visibility-timeout',
        resource: logicalId,
        message:
          `${queue.logicalId} VisibilityTimeout ${visibility} s is under ${VISIBILITY_TIMEOUT_FACTOR} x ` +
          `${fn.logicalId} Timeout ${timeout} s (${VISIBILITY_TIMEOUT_FACTOR * timeout} s)`,
      });
    }
  }
  return findings;
}

const PUBLIC_ACCESS_FLAGS = ['BlockPublicAcls', 'BlockPublicPolicy', 'IgnorePublicAcls', 'RestrictPublicBuckets'];

/** Every bucket sets all four public access block flags. */
export function checkBucketPublicAccess(resources: readonly ResolvedResource[]): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  for (const bucket of resources.filter((r) => r.type === 'AWS::S3::Bucket')) {
    const block = bucket.properties.PublicAccessBlockConfiguration;
    const missing = PUBLIC_ACCESS_FLAGS.filter((flag) => !isRecord(block) || (block[flag] !== true && block[flag] !== 'true'));
    if (missing.length > 0) {
      findings.push({
        check: 'bucket-public-access',
        resource: bucket.logicalId,
        message: `PublicAccessBlockConfiguration must set ${missing.join(', ')} to true`,
      });
    }
  }
  return findings;
}

function textOf(evaluate: () => unknown): string | undefined {
  const value = evaluate();
  return typeof value === 'string' ? value : undefined;
}

function isEveryone(principal: unknown): boolean {
  return principal === '*' || (isRecord(principal) && (principal.AWS === '*' || JSON.stringify(principal.AWS) === '["*"]'));
}

function conditionValues(statement: PolicyStatement, operator: string, key: string): string[] {
  for (const [op, entries] of Object.entries(statement.condition ?? {})) {
    if (op.toLowerCase() !== operator.toLowerCase() || !isRecord(entries)) continue;
    for (const [k, value] of Object.entries(entries)) {
      if (k.toLowerCase() === key.toLowerCase()) return (Array.isArray(value) ? value : [value]).map(String);
    }
  }
  return [];
}

/**
 * Every bucket has a bucket policy denying every S3 action to everyone, on the bucket and its objects, when
 * `aws:SecureTransport` is false.
 */
export function checkBucketTlsOnly(
  resources: readonly ResolvedResource[],
  statements: readonly PolicyStatement[],
  evaluator: TemplateEvaluator,
): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  const policies = resources.filter((r) => r.type === 'AWS::S3::BucketPolicy');
  for (const bucket of resources.filter((r) => r.type === 'AWS::S3::Bucket')) {
    const path = `Resources.${bucket.logicalId}`;
    const arn = textOf(() => evaluator.getAtt(bucket.logicalId, 'Arn', path));
    const name = textOf(() => evaluator.ref(bucket.logicalId, path));
    const policyIds = new Set(policies.filter((p) => p.properties.Bucket === name).map((p) => p.logicalId));
    const guarded = statements.some(
      (s) =>
        policyIds.has(s.resource) &&
        s.effect === 'Deny' &&
        isEveryone(s.principal) &&
        (s.actions.includes('s3:*') || s.actions.includes('*')) &&
        conditionValues(s, 'Bool', 'aws:SecureTransport').includes('false') &&
        arn !== undefined &&
        s.resources.includes(arn) &&
        s.resources.includes(`${arn}/*`),
    );
    if (!guarded) {
      findings.push({
        check: 'bucket-tls-only',
        resource: bucket.logicalId,
        message:
          'needs a bucket policy statement: Deny, Principal "*", Action "s3:*", on the bucket and "<bucket>/*", ' +
          'when Bool aws:SecureTransport is "false"',
      });
    }
  }
  return findings;
}


/**
 * Every queue a bucket notifies has a queue policy of the template letting `s3.amazonaws.com` send to it,
 * conditioned on that bucket's ARN (`aws:SourceArn`) and on the account (`aws:SourceAccount`, since bucket
 * names are global), and no statement of that policy lets anyone else send.
 */
export function checkNotificationQueuePolicies(
  resources: readonly ResolvedResource[],
  statements: readonly PolicyStatement[],
  evaluator: TemplateEvaluator,
): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  const queuePolicies = resources.filter((r) => r.type === 'AWS::SQS::QueuePolicy');
  // Queue policies name queues by URL, notifications by ARN: map one to the other through the queues.
  const queueUrlByArn = new Map<unknown, unknown>();
  for (const queue of resources.filter((r) => r.type === 'AWS::SQS::Queue')) {
    const path = `Resources.${queue.logicalId}`;
    queueUrlByArn.set(evaluator.getAtt(queue.logicalId, 'Arn', path), evaluator.ref(queue.logicalId, path));
  }
  const accountId = evaluator.context.accountId;
  for (const bucket of resources.filter((r) => r.type === 'AWS::S3::Bucket')) {
    const arn = textOf(() => evaluator.getAtt(bucket.logicalId, 'Arn', `Resources.${bucket.logicalId}`));
    const config = bucket.properties.NotificationConfiguration;
    const queues = isRecord(config) && Array.isArray(config.QueueConfigurations) ? config.QueueConfigurations : [];
    for (const queueConfig of queues) {
      const queueArn = isRecord(queueConfig) ? queueConfig.Queue : undefined;
      const policyIds = new Set(
        queuePolicies
          .filter((p) =>
            (Array.isArray(p.properties.Queues) ? p.properties.Queues : []).some(
              (url) => queueUrlByArn.has(queueArn) && url === queueUrlByArn.get(queueArn),
            ),
          )
          .map((p) => p.logicalId),
      );
      const relevant = statements.filter((s) => policyIds.has(s.resource) && s.effect === 'Allow');
      const scoped = relevant.some(
        (s) =>
          JSON.stringify(s.principal) === JSON.stringify({ Service: 's3.amazonaws.com' }) &&
          s.actions.includes('sqs:SendMessage') &&
          arn !== undefined &&
          [...conditionValues(s, 'ArnEquals', 'aws:SourceArn'), ...conditionValues(s, 'ArnLike', 'aws:SourceArn')].includes(arn) &&
          conditionValues(s, 'StringEquals', 'aws:SourceAccount').includes(accountId),
      );
      const tooWide = relevant.filter(
        (s) =>
          isEveryone(s.principal) &&
          conditionValues(s, 'ArnEquals', 'aws:SourceArn').length === 0 &&
          conditionValues(s, 'ArnLike', 'aws:SourceArn').length === 0,
      );
      if (!scoped) {
        findings.push({
          check: 'notification-queue-policy',
          resource: bucket.logicalId,
          message:
            `queue ${JSON.stringify(queueArn)} needs a queue policy allowing s3.amazonaws.com sqs:SendMessage ` +
            `with ArnEquals aws:SourceArn ${arn ?? '<bucket ARN>'} and StringEquals aws:SourceAccount`,
        });
      }
      for (const s of tooWide) {
        findings.push({
          check: 'notification-queue-policy',
          resource: s.resource,
          message: `${s.location} lets any principal use the queue without an aws:SourceArn condition`,
        });
      }
    }
  }
  return findings;
}
