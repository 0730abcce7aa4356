/**
 * Least-privilege checks of IAM statements against the IAM actions list: actions exist, no wildcard grants,
 * `Resource: "*"` only for actions without resource-level permissions, and every granted resource is of a
 * type the action can act on (an S3 action on a table ARN grants nothing and hides a mistake).
 */
import type { TemplateFinding } from './findings';
import type { IamCatalog } from './iam-catalog';
import type { PolicyStatement } from './policy-documents';

function isWildcard(action: string): boolean {
  return /[*?]/.test(action);
}

/** Whether an action as written (`iam:PassRole`, `iam:Pass*`, `*`) covers `action`, as IAM matches them. */
function grants(written: string, action: string): boolean {
  const pattern = written.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${pattern}$`, 'i').test(action);
}

function label(statement: PolicyStatement): string {
  return statement.sid ? `${statement.location} (${statement.sid})` : statement.location;
}

/**
 * Entries of the allowlist that do not belong there: unknown actions, and actions the IAM list shows can be
 * scoped to a resource (granting those on `"*"` would be wider than needed).
 */
export function checkStarResourceAllowlist(
  catalog: IamCatalog,
  allowlist: Readonly<Record<string, string>>,
): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  for (const [action, reason] of Object.entries(allowlist)) {
    const types = catalog.resourceTypes(action);
    if (types === undefined) {
      findings.push({ check: 'iam-star-resource', message: `allowlist entry ${action} is not an IAM action` });
    } else if (types.length > 0) {
      findings.push({
        check: 'iam-star-resource',
        message: `allowlist entry ${action} supports resource-level permissions (${types.join(', ')}); scope it instead`,
      });
    }
    if (reason.trim() === '') {
      findings.push({ check: 'iam-star-resource', message: `allowlist entry ${action} gives no reason` });
    }
  }
  return findings;
}

/** Every finding of the IAM checks over the statements. */
export function checkPolicyStatements(
  statements: readonly PolicyStatement[],
  catalog: IamCatalog,
  allowlist: Readonly<Record<string, string>>,
): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  const allowed = new Set(Object.keys(allowlist).map((action) => action.toLowerCase()));

  for (const statement of statements) {
    const where = label(statement);
    const add = (check: TemplateFinding['check'], message: string): void => {
      findings.push({ check, resource: statement.resource, message: `${where}: ${message}` });
    };

    for (const action of [...statement.actions, ...statement.notActions]) {
      // A lone "*" is every action; it only makes sense in a Deny and is judged by the wildcard rule.
      if (action === '*') continue;
      if (!catalog.actionExists(action)) add('iam-action-exists', `${action} is not an IAM action`);
    }

    if (statement.effect !== 'Allow') continue;

    if (statement.notActions.length > 0) {
      add('iam-wildcard-action', `Allow with NotAction grants every other action; list the actions instead`);
    }
    for (const action of statement.actions.filter(isWildcard)) {
      add('iam-wildcard-action', `Allow of wildcard action ${action}; list the actions instead`);
    }

    if (statement.kind !== 'identity') continue;

    if (statement.notResources.length > 0) {
      add('iam-star-resource', 'Allow with NotResource grants every other resource; list the resources instead');
    }
    const exactActions = statement.actions.filter((action) => !isWildcard(action) && catalog.actionExists(action));
    if (statement.resources.includes('*')) {
      for (const action of exactActions) {
        if (!allowed.has(action.toLowerCase())) {
          const types = catalog.resourceTypes(action) ?? [];
          add(
            'iam-star-resource',
            types.length > 0
              ? `${action} on Resource "*"; it can be scoped to ${types.join(', ')}`
              : `${action} on Resource "*" is not in the allowlist (src/deploy/star-resource-allowlist.ts) with a reason`,
          );
        }
      }
      continue;
    }

    for (const action of exactActions) {
      const types = catalog.resourceTypes(action) ?? [];
      if (types.length === 0) {
        add('iam-resource-scope', `${action} supports no resource-level permissions, so a scoped Resource grants nothing`);
      } else if (!statement.resources.some((arn) => catalog.actionAppliesTo(action, arn))) {
        add(
          'iam-resource-scope',
          `${action} applies to ${types.join(', ')}, and none of ${JSON.stringify(statement.resources)} is one`,
        );
      }
    }
    for (const arn of statement.resources) {
      if (exactActions.length > 0 && !exactActions.some((action) => catalog.actionAppliesTo(action, arn))) {
        add('iam-resource-scope', `no action of the statement applies to ${arn}`);
      }
    }
  }
  return findings;
}

/**
 * Every Allow of `iam:PassRole` names the service the role may be passed to (`iam:PassedToService`, with
 * `StringEquals` or `StringLike`): without it, whoever holds the grant may hand the role to any service.
 */
export function checkPassRoleConditions(statements: readonly PolicyStatement[]): TemplateFinding[] {
  const findings: TemplateFinding[] = [];
  for (const statement of statements) {
    if (statement.effect !== 'Allow' || statement.kind !== 'identity') continue;
    const passesRoles = statement.actions.some((action) => grants(action, 'iam:PassRole'));
    if (!passesRoles) continue;
    const services = Object.entries(statement.condition ?? {})
      .filter(([operator]) => ['stringequals', 'stringlike'].includes(operator.toLowerCase()))
      .flatMap(([, entries]) =>
        Object.entries(entries).filter(([key]) => key.toLowerCase() === 'iam:passedtoservice').map(([, value]) => value),
      )
      .flat()
      .filter((value) => typeof value === 'string' && value !== '' && value !== '*');
    if (services.length === 0) {
      findings.push({
        check: 'iam-pass-role-condition',
        resource: statement.resource,
        message: `${label(statement)}: iam:PassRole needs a Condition StringEquals iam:PassedToService naming the service the role is for`,
      });
    }
  }
  return findings;
}
