import type { Tag } from '@aws-sdk/client-sagemaker';

/** Tags as workflow inputs give them: a plain map, which cannot hold a key twice. */
export type TagMap = Record<string, string>;

/** The SageMaker `Tags` list of a map, sorted by key so a request is the same for the same input. */
export function buildTags(tags: TagMap | undefined): Tag[] {
  return Object.entries(tags ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([Key, Value]) => ({ Key, Value }));
}
