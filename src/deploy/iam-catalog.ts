/**
 * The IAM actions list of the shared data (`iam-policies.json`: every action of every service with the
 * resource types it can be scoped to, and each resource type's ARN formats), as lookups the policy checks use.
 */
import { readFileSync } from 'node:fs';
import { isRecord } from '../cloudformation/template';

interface ServiceEntry {
  Actions: Record<string, { Resources?: string[] }>;
  Resources?: Record<string, { ARNFormats?: string[] }>;
}

/** Lookups over the IAM actions list; action names are matched case-insensitively, as IAM does. */
export interface IamCatalog {
  /** Whether `service:action` names a real action; for a pattern (`s3:Get*`), whether it matches one. */
  actionExists(action: string): boolean;
  /**
   * The resource types an action can be scoped to: `[]` when it supports no resource-level permissions
   * (it only works with `Resource: "*"`), `undefined` when the action is unknown.
   */
  resourceTypes(action: string): string[] | undefined;
  /** Whether `arn` has the format of one of the resource types the action can be scoped to. */
  actionAppliesTo(action: string, arn: string): boolean;
}

function splitAction(action: string): [string, string] | undefined {
  const colon = action.indexOf(':');
  if (colon <= 0 || colon === action.length - 1) return undefined;
  return [action.slice(0, colon).toLowerCase(), action.slice(colon + 1).toLowerCase()];
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

/**
 * Turns an ARN format of the list (`arn:${Partition}:sqs:${Region}:${Account}:.*`, already a regular
 * expression apart from its `${...}` slots) into an anchored expression. A policy's own wildcards (`*`) in an
 * ARN are literal characters here, which `.*` in the format accepts.
 */
function arnFormatToRegExp(format: string): RegExp {
  const slots: Record<string, string> = { Partition: 'aws[a-z-]*', Region: '[a-z0-9-]*', Account: '(?:[0-9]{12}|\\*)?' };
  const source = format.replace(/\$\{([^}]*)\}/g, (_, name: string) => slots[name] ?? '[^:]*');
  return new RegExp(`^${source}$`);
}

/** Builds the catalog from parsed `iam-policies.json` content. */
export function createIamCatalog(data: unknown): IamCatalog {
  if (!isRecord(data)) throw new TypeError('IAM actions list must be an object keyed by service prefix');
  const services = data as Record<string, ServiceEntry>;
  const formatCache = new Map<string, RegExp[]>();

  function formatsOf(service: string, resourceType: string): RegExp[] {
    const key = `${service}:${resourceType}`;
    let formats = formatCache.get(key);
    if (formats === undefined) {
      formats = (services[service]?.Resources?.[resourceType]?.ARNFormats ?? []).map(arnFormatToRegExp);
      formatCache.set(key, formats);
    }
    return formats;
  }

  const catalog: IamCatalog = {
    actionExists(action) {
      const parts = splitAction(action);
      if (parts === undefined) return false;
      const [service, name] = parts;
      const actions = services[service]?.Actions;
      if (actions === undefined) return false;
      if (!/[*?]/.test(name)) return Object.hasOwn(actions, name);
      const pattern = globToRegExp(name);
      return Object.keys(actions).some((candidate) => pattern.test(candidate));
    },
    resourceTypes(action) {
      const parts = splitAction(action);
      if (parts === undefined) return undefined;
      const entry = services[parts[0]]?.Actions?.[parts[1]];
      return entry === undefined ? undefined : [...(entry.Resources ?? [])];
    },
    actionAppliesTo(action, arn) {
      const parts = splitAction(action);
      const types = catalog.resourceTypes(action);
      if (parts === undefined || types === undefined) return false;
      return types.some((type) => formatsOf(parts[0], type).some((format) => format.test(arn)));
    },
  };
  return catalog;
}

/** Reads `iam-policies.json` and builds the catalog. */
export function loadIamCatalog(path: string): IamCatalog {
  return createIamCatalog(JSON.parse(readFileSync(path, 'utf8')));
}
