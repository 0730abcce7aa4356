/**
 * `AddTags`, `ListTags` and `DeleteTags`: the tags of any resource the emulator keeps, named by its ARN, as
 * the AWS CLI's `aws sagemaker list-tags --resource-arn ...` and boto3 read them. The tags given at creation
 * (`Tags` of every Create operation, and the state machines' `tags`) are the same list.
 */
import type { Collection, ResourceRecord } from '../state/state-store';
import type { ApiContext } from './context';
import { ValidationExceptionError } from './errors';
import { listPage } from './listing';
import { constraintError, optionalArray, optionalTags, requiredString, type Input } from './validate';

type Tag = { Key: string; Value: string };

/** Each collection's ARN field: a resource is found by the ARN it answered with. */
const ARN_FIELDS: ReadonlyArray<[Collection, string]> = [
  ['models', 'ModelArn'],
  ['endpointConfigs', 'EndpointConfigArn'],
  ['endpoints', 'EndpointArn'],
  ['modelPackageGroups', 'ModelPackageGroupArn'],
  ['modelPackages', 'ModelPackageArn'],
  ['transformJobs', 'TransformJobArn'],
];
const ARN_PATTERN = /^arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:.+$/;
const MAX_TAGS = 50;

/** The resource an ARN names, with the key the store keeps it under. */
function resourceOf(input: Input, ctx: ApiContext): { collection: Collection; key: string; record: ResourceRecord } {
  const arn = requiredString(input, 'ResourceArn', 'resourceArn', 256);
  if (!ARN_PATTERN.test(arn)) {
    throw constraintError('resourceArn', arn, 'Member must satisfy regular expression pattern: arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:.+');
  }
  // Names are lower-cased in SageMaker ARNs; the ARN a user pastes may keep the name's case.
  const wanted = arn.toLowerCase();
  for (const [collection, field] of ARN_FIELDS) {
    const found = ctx.store.entries(collection).find(([, record]) => String(record[field]).toLowerCase() === wanted);
    if (found) return { collection, key: found[0], record: found[1] };
  }
  throw new ValidationExceptionError(`Resource ${arn} not found.`);
}

function tagsOf(record: ResourceRecord): Tag[] {
  return Array.isArray(record.Tags) ? (record.Tags as Tag[]) : [];
}

/** `AddTags`: adds or replaces tags by key; a resource holds at most 50. Answers with the tags given. */
export function addTags(input: Input, ctx: ApiContext): unknown {
  const { collection, key, record } = resourceOf(input, ctx);
  const added = optionalTags(input) ?? [];
  if (input.Tags === undefined) throw constraintError('tags', null, 'Member must not be null');
  const merged = new Map(tagsOf(record).map((tag) => [tag.Key, tag.Value]));
  for (const tag of added) merged.set(tag.Key, tag.Value);
  if (merged.size > MAX_TAGS) {
    throw new ValidationExceptionError(`A resource can have at most ${MAX_TAGS} tags; ${String(input.ResourceArn)} would have ${merged.size}.`);
  }
  ctx.store.update(collection, key, { Tags: [...merged].map(([Key, Value]) => ({ Key, Value })) });
  return { Tags: added };
}

/** `ListTags`: the resource's tags, a page at a time (`MaxResults` up to 100, `NextToken`). */
export function listTags(input: Input, ctx: ApiContext): unknown {
  const { record } = resourceOf(input, ctx);
  // Tags come back in the order they were added, not newest first as resources are listed.
  const paging = { MaxResults: input.MaxResults ?? MAX_TAGS, NextToken: input.NextToken, SortBy: 'Order', SortOrder: 'Ascending' };
  const page = listPage(tagsOf(record).map((tag, i) => ({ ...tag, order: i })), paging, {
    sortFields: { Order: 'order' },
    defaultSort: 'Order',
    nameField: 'Key',
  });
  const tags = page.items.map(({ Key, Value }) => ({ Key, Value }));
  return page.NextToken ? { Tags: tags, NextToken: page.NextToken } : { Tags: tags };
}

/** `DeleteTags`: removes the tags with these keys; keys the resource does not have are ignored, as on AWS. */
export function deleteTags(input: Input, ctx: ApiContext): unknown {
  const { collection, key, record } = resourceOf(input, ctx);
  const keys = optionalArray(input, 'TagKeys', 'tagKeys', 1, 50);
  if (keys === undefined) throw constraintError('tagKeys', null, 'Member must not be null');
  const removed = new Set(keys.map((tagKey, i) => {
    if (typeof tagKey !== 'string' || tagKey.length < 1 || tagKey.length > 128) throw constraintError(`tagKeys.${i + 1}.member`, tagKey, 'Member must have length between 1 and 128');
    return tagKey;
  }));
  ctx.store.update(collection, key, { Tags: tagsOf(record).filter((tag) => !removed.has(tag.Key)) });
  return {};
}
