import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/cli/errors';
import {
  checkModelNameForAdd,
  endpointNameSchema,
  jsonTextSchema,
  mimeTypeSchema,
  parseEndpointAndModel,
  parseInput,
  positiveIntegerSchema,
  s3UrlSchema,
  secondsSchema,
  versionSchema,
} from '../../src/cli/inputs';

function failure(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error('expected an InvalidInputError');
}

describe('Function: parseEndpointAndModel', () => {
  it('accepts SageMaker endpoint names and models with "/", spaces, "+" and unicode', () => {
    // Prepare
    const models = ['m1', 'team/models/x', 'my model+v2', 'modèle-ü', 'models/x'];

    // Act
    const parsed = models.map((model) => parseEndpointAndModel('ep-1', model));

    // Assess
    expect(parsed.map((p) => p.model)).toEqual(models);
    expect(parsed.every((p) => p.endpoint === 'ep-1')).toBe(true);
  });

  it('refuses an endpoint name outside the SageMaker pattern, naming the input and the rule', () => {
    // Act
    const errors = ['bad_ep', '-ep', 'ep-', '', 'a'.repeat(64)].map((name) =>
      failure(() => parseEndpointAndModel(name, 'm1')),
    );

    // Assess
    for (const error of errors) {
      expect(error.message).toMatch(/^invalid endpoint ".*": .*SageMaker's pattern/);
      expect(error.exitCode).toBe(2);
    }
  });

  it('refuses model names with empty, "." or ".." segments, backslashes, control characters or leading space', () => {
    // Prepare
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['/m', /empty path segment/],
      ['m/', /empty path segment/],
      ['a//b', /empty path segment/],
      ['a/../b', /"\.\." path segment/],
      ['./b', /"\." path segment/],
      ['a\\b', /backslash/],
      ['a\u0001b', /control character/],
      [' m', /whitespace/],
    ];

    // Act / Assess
    for (const [model, rule] of cases) {
      const error = failure(() => parseEndpointAndModel('ep1', model));
      expect(error.message).toMatch(/^invalid model /);
      expect(error.message).toMatch(rule);
    }
  });

  it('refuses a model name whose live key would exceed the S3 key limit', () => {
    // Act
    const error = failure(() => parseEndpointAndModel('ep1', 'x'.repeat(1000)));

    // Assess
    expect(error.message).toMatch(/too long/);
  });
});

describe('Function: checkModelNameForAdd', () => {
  it('refuses a model named with its .tar.gz suffix', () => {
    // Act
    const error = failure(() => checkModelNameForAdd('m1.tar.gz'));

    // Assess
    expect(error.message).toBe('invalid model "m1.tar.gz": must not end with ".tar.gz" (give the model name; the suffix is added)');
  });
});

describe('Function: parseInput', () => {
  it('parses s3 URLs into bucket and key, keeping "/" in keys', () => {
    // Act
    const location = parseInput(s3UrlSchema, 's3://my-bucket.data/a/b/m 1.tar.gz', 'source');

    // Assess
    expect(location).toEqual({ bucket: 'my-bucket.data', key: 'a/b/m 1.tar.gz' });
  });

  it('refuses bad s3 URLs with the rule they break', () => {
    // Prepare
    const cases: [string, RegExp][] = [
      ['s3://', /not a valid S3 bucket name/],
      ['s3://Bucket/key', /not a valid S3 bucket name/],
      ['s3://ab/key', /not a valid S3 bucket name/],
      ['s3://bucket', /must name an object/],
      ['s3://bucket/', /must name an object/],
      ['s3://bucket/dir/', /must name an object/],
      ['http://bucket/key', /must start with s3:\/\//],
    ];

    // Act / Assess
    for (const [url, rule] of cases) {
      const error = failure(() => parseInput(s3UrlSchema, url, 'source'));
      expect(error.message).toMatch(new RegExp(`^invalid source ${JSON.stringify(url).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
      expect(error.message).toMatch(rule);
    }
  });

  it('checks versions, counts, durations, JSON and MIME types', () => {
    // Assess: accepted
    expect(parseInput(versionSchema, '0123456789abcdef', 'version')).toBe('0123456789abcdef');
    expect(parseInput(positiveIntegerSchema, '3', '--keep')).toBe(3);
    expect(parseInput(secondsSchema, '0.5', '--timeout')).toBe(0.5);
    expect(parseInput(jsonTextSchema, '{"instances":[[1,2]]}', '--data')).toBe('{"instances":[[1,2]]}');
    expect(parseInput(mimeTypeSchema, 'text/csv; charset=utf-8', '--accept')).toBe('text/csv; charset=utf-8');
    expect(parseInput(endpointNameSchema, 'ep-1', 'endpoint')).toBe('ep-1');

    // Assess: refused, each naming its input
    expect(failure(() => parseInput(versionSchema, 'ABC', 'version')).message).toMatch(/^invalid version "ABC": must be 16 lowercase hex/);
    expect(failure(() => parseInput(positiveIntegerSchema, '0', '--keep')).message).toBe('invalid --keep "0": must be at least 1');
    expect(failure(() => parseInput(positiveIntegerSchema, '-1', '--keep')).message).toBe('invalid --keep "-1": must be a positive whole number');
    expect(failure(() => parseInput(secondsSchema, 'soon', '--timeout')).message).toMatch(/^invalid --timeout "soon": must be a positive number/);
    expect(failure(() => parseInput(secondsSchema, '-1', '--timeout')).message).toBe(
      'invalid --timeout "-1": must be a positive number of seconds, such as 30 or 0.5',
    );
    expect(failure(() => parseInput(secondsSchema, '0', '--timeout')).message).toMatch(/more than 0/);
    expect(failure(() => parseInput(jsonTextSchema, '{bad', '--data')).message).toBe('invalid --data "{bad": must be a JSON document');
    expect(failure(() => parseInput(mimeTypeSchema, 'json', '--accept')).message).toMatch(/must be a MIME type/);
  });
});
