/**
 * Tags a refused artifact where it lies, so a user browsing `incoming/` sees why it was refused (`rejected`:
 * its archive broke a rule) or left alone (`ignored`: its key names no endpoint and model) without the registry. Tagging changes neither the bytes nor the ETag of the object.
 */
import { GetObjectTaggingCommand, PutObjectTaggingCommand, type S3Client, type Tag } from '@aws-sdk/client-s3';

export const TAG_STATUS = 'smhost:status';
export const TAG_RULE = 'smhost:rule';
export const TAG_REASON = 'smhost:reason';
const OWN_TAGS = new Set([TAG_STATUS, TAG_RULE, TAG_REASON]);

/** S3 allows at most 10 tags per object and 256 characters per value. */
const MAX_TAGS = 10;
const MAX_TAG_VALUE_LENGTH = 256;

/**
 * Makes text fit S3's tag value rules: letters, digits, spaces and `+ - = . _ : / @` only, at most
 * 256 characters. Anything else becomes `_`, so a reason quoting a hostile entry name (`../etc`,
 * control characters, quotes) still fits, recognisably.
 */
export function sanitizeTagValue(text: string): string {
  const cleaned = Array.from(text.replace(/\s+/gu, ' ').trim(), (char) => (/[\p{L}\p{N} +\-=._:/@]/u.test(char) ? char : '_')).join('');
  return Array.from(cleaned).slice(0, MAX_TAG_VALUE_LENGTH).join('');
}

/**
 * Adds (or replaces) the refusal tags on the object, keeping the user's own tags: S3 replaces the
 * whole tag set on every write, so the existing set is read first. S3 allows 10 tags: when the
 * user's tags leave no room, those past the seventh are dropped so the refusal is always visible.
 */
export async function tagRejectedArtifact(
  s3: S3Client,
  request: { bucket: string; key: string; rule: string; reason: string; status?: 'rejected' | 'ignored' },
): Promise<void> {
  const existing = await s3.send(new GetObjectTaggingCommand({ Bucket: request.bucket, Key: request.key }));
  const ownTags: Tag[] = [
    { Key: TAG_STATUS, Value: request.status ?? 'rejected' },
    { Key: TAG_RULE, Value: sanitizeTagValue(request.rule) },
    { Key: TAG_REASON, Value: sanitizeTagValue(request.reason) },
  ];
  const userTags = (existing.TagSet ?? []).filter((tag) => tag.Key && !OWN_TAGS.has(tag.Key)).slice(0, MAX_TAGS - ownTags.length);
  await s3.send(
    new PutObjectTaggingCommand({
      Bucket: request.bucket,
      Key: request.key,
      Tagging: { TagSet: [...userTags, ...ownTags] },
    }),
  );
}
