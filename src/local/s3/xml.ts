/** XML in and out for the S3 API: the documents S3 reads (delete lists, tag sets, parts) and writes. */
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { malformedXml } from './s3-error';

const LIST_ELEMENTS = new Set(['Part', 'Object', 'Tag', 'QueueConfiguration', 'FilterRule', 'Event', 'CloudFunctionConfiguration', 'TopicConfiguration']);

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  parseTagValue: false,
  // Keys and tag values may begin or end with spaces; trimming would change them.
  trimValues: false,
  isArray: (name) => LIST_ELEMENTS.has(name),
});

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@', suppressEmptyNode: false });

/** Parses a request body, naming the expected root element in the error when it is missing. */
export function parseXml(text: string, root: string): Record<string, unknown> {
  let document: Record<string, unknown>;
  try {
    document = parser.parse(text, true) as Record<string, unknown>;
  } catch (error) {
    throw malformedXml((error as Error).message);
  }
  const element = document[root];
  if (element === undefined) throw malformedXml(`expected a <${root}> document`);
  return typeof element === 'object' && element !== null ? (element as Record<string, unknown>) : {};
}

/** The text of a child element, or undefined; whitespace-only text nodes between elements are not values. */
export function textOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && '#text' in (value as Record<string, unknown>)) return String((value as Record<string, unknown>)['#text']);
  if (typeof value === 'object') return '';
  return String(value);
}

/** Serialises `{ Root: {...} }` with the S3 namespace on the root element. */
export function toXml(root: string, body: Record<string, unknown>): string {
  const document = { [root]: { '@xmlns': 'http://s3.amazonaws.com/doc/2006-03-01/', ...body } };
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build(document) as string}`;
}
