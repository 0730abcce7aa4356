/**
 * Finds the IAM policy documents inside resolved resources and reads their statements into one shape, so
 * the policy checks need not know where each resource type keeps its policies.
 */
import type { TemplateFinding } from './findings';
import type { ResolvedResource } from '../cloudformation/intrinsics';
import { isRecord } from '../cloudformation/template';

/**
 * `identity`: attached to a role, user or group, so `Resource` says what it reaches. `resource`: a bucket,
 * queue, topic or key policy, whose `Resource` can only be the resource itself. `trust`: who may assume a role.
 */
export type PolicyKind = 'identity' | 'resource' | 'trust';

/** A policy document and where it sits. */
export interface PolicyDocumentRef {
  resource: string;
  /** Where in the resource: `Policies[0].PolicyDocument`. */
  location: string;
  kind: PolicyKind;
  document: unknown;
}

/** A statement with its single-or-list fields normalised to lists. */
export interface PolicyStatement {
  resource: string;
  location: string;
  kind: PolicyKind;
  sid?: string;
  effect: 'Allow' | 'Deny';
  actions: string[];
  notActions: string[];
  resources: string[];
  notResources: string[];
  principal?: unknown;
  condition?: Record<string, Record<string, unknown>>;
}

const IDENTITY_DOCUMENT: Record<string, string> = {
  'AWS::IAM::Policy': 'PolicyDocument',
  'AWS::IAM::ManagedPolicy': 'PolicyDocument',
  'AWS::IAM::RolePolicy': 'PolicyDocument',
  'AWS::IAM::UserPolicy': 'PolicyDocument',
  'AWS::IAM::GroupPolicy': 'PolicyDocument',
};

const RESOURCE_DOCUMENT: Record<string, string> = {
  'AWS::S3::BucketPolicy': 'PolicyDocument',
  'AWS::SQS::QueuePolicy': 'PolicyDocument',
  'AWS::SQS::QueueInlinePolicy': 'PolicyDocument',
  'AWS::SNS::TopicPolicy': 'PolicyDocument',
  'AWS::SNS::TopicInlinePolicy': 'PolicyDocument',
  'AWS::KMS::Key': 'KeyPolicy',
  'AWS::Logs::ResourcePolicy': 'PolicyDocument',
  'AWS::SageMaker::ModelPackageGroup': 'ModelPackageGroupPolicy',
};

/** Every policy document of the resources. */
export function policyDocuments(resources: readonly ResolvedResource[]): PolicyDocumentRef[] {
  const found: PolicyDocumentRef[] = [];
  for (const { logicalId, type, properties } of resources) {
    const identityKey = IDENTITY_DOCUMENT[type];
    const resourceKey = RESOURCE_DOCUMENT[type];
    if (identityKey !== undefined && properties[identityKey] !== undefined) {
      found.push({ resource: logicalId, location: identityKey, kind: 'identity', document: properties[identityKey] });
    }
    if (resourceKey !== undefined && properties[resourceKey] !== undefined) {
      found.push({ resource: logicalId, location: resourceKey, kind: 'resource', document: properties[resourceKey] });
    }
    if (type === 'AWS::IAM::Role' && properties.AssumeRolePolicyDocument !== undefined) {
      found.push({
        resource: logicalId,
        location: 'AssumeRolePolicyDocument',
        kind: 'trust',
        document: properties.AssumeRolePolicyDocument,
      });
    }
    if (['AWS::IAM::Role', 'AWS::IAM::User', 'AWS::IAM::Group'].includes(type) && Array.isArray(properties.Policies)) {
      properties.Policies.forEach((policy, index) => {
        found.push({
          resource: logicalId,
          location: `Policies[${index}].PolicyDocument`,
          kind: 'identity',
          document: isRecord(policy) ? policy.PolicyDocument : undefined,
        });
      });
    }
  }
  return found;
}

function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Reads the statements of documents; a document or statement that is not a policy at all (unparseable
 * JSON, no `Statement`, an `Effect` that is neither Allow nor Deny, a non-string action) is a finding.
 */
export function policyStatements(documents: readonly PolicyDocumentRef[]): {
  statements: PolicyStatement[];
  findings: TemplateFinding[];
} {
  const statements: PolicyStatement[] = [];
  const findings: TemplateFinding[] = [];
  for (const ref of documents) {
    const problem = (message: string): void => {
      findings.push({ check: 'iam-policy-shape', resource: ref.resource, message: `${ref.location}: ${message}` });
    };
    let document = ref.document;
    if (typeof document === 'string') {
      try {
        document = JSON.parse(document);
      } catch {
        problem('is a string that is not JSON');
        continue;
      }
    }
    if (!isRecord(document) || document.Statement === undefined) {
      problem('must be a policy document with a "Statement"');
      continue;
    }
    asList(document.Statement).forEach((raw, index) => {
      const where = `${ref.location}.Statement[${index}]`;
      if (!isRecord(raw)) {
        problem(`Statement[${index}] must be an object`);
        return;
      }
      if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') {
        problem(`Statement[${index}] "Effect" must be "Allow" or "Deny", got ${JSON.stringify(raw.Effect)}`);
        return;
      }
      const strings = (field: string): string[] | undefined => {
        const list = asList(raw[field]);
        if (list.some((item) => typeof item !== 'string')) {
          problem(`Statement[${index}] "${field}" must hold strings, got ${JSON.stringify(raw[field])}`);
          return undefined;
        }
        return list as string[];
      };
      const actions = strings('Action');
      const notActions = strings('NotAction');
      const resources = strings('Resource');
      const notResources = strings('NotResource');
      if (!actions || !notActions || !resources || !notResources) return;
      if (actions.length === 0 && notActions.length === 0) {
        problem(`Statement[${index}] has no "Action"`);
        return;
      }
      statements.push({
        resource: ref.resource,
        location: where,
        kind: ref.kind,
        ...(typeof raw.Sid === 'string' ? { sid: raw.Sid } : {}),
        effect: raw.Effect,
        actions,
        notActions,
        resources,
        notResources,
        principal: raw.Principal,
        ...(isRecord(raw.Condition) ? { condition: raw.Condition as Record<string, Record<string, unknown>> } : {}),
      });
    });
  }
  return { statements, findings };
}
