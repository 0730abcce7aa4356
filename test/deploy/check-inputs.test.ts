import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import type { CfnTemplate } from '../../src/cloudformation';
import { createIamCatalog, parameterVariants, readZipEntries } from '../../src/deploy';

describe('Function: parameterVariants', () => {
  it('combines defaults and samples, and falls back to one change at a time past 64 combinations', () => {
    // Prepare
    const small: CfnTemplate = {
      Parameters: { A: { Type: 'String', Default: '' }, B: { Type: 'String', Default: 'x' } },
      Resources: { Q: { Type: 'AWS::SQS::Queue' } },
    };
    const large: CfnTemplate = {
      Parameters: Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`P${i}`, { Type: 'String', Default: 'd' }])),
      Resources: { Q: { Type: 'AWS::SQS::Queue' } },
    };
    const largeSamples = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`P${i}`, ['s']]));

    // Act
    const combined = parameterVariants(small, { A: ['key'], B: ['y'] });
    const oneAtATime = parameterVariants(large, largeSamples);

    // Assess
    expect(combined.variants).toEqual([
      { A: '', B: 'x' },
      { A: '', B: 'y' },
      { A: 'key', B: 'x' },
      { A: 'key', B: 'y' },
    ]);
    expect(oneAtATime.variants).toHaveLength(8);
  });
});

describe('Function: createIamCatalog', () => {
  // Prepare
  const catalog = createIamCatalog({
    s3: {
      Actions: { getobject: { Resources: ['object'] }, listallmybuckets: {} },
      Resources: { object: { ARNFormats: ['arn:${Partition}:s3:::.*'] } },
    },
  });

  it('matches actions case-insensitively and patterns against real actions', () => {
    // Act / Assess
    expect(catalog.actionExists('s3:GetObject')).toBe(true);
    expect(catalog.actionExists('S3:getobject')).toBe(true);
    expect(catalog.actionExists('s3:Get*')).toBe(true);
    expect(catalog.actionExists('s3:Put*')).toBe(false);
    expect(catalog.actionExists('s4:GetObject')).toBe(false);
    expect(catalog.actionExists('GetObject')).toBe(false);
  });

  it('tells scoped actions from unscoped ones and checks ARNs against their formats', () => {
    // Act / Assess
    expect(catalog.resourceTypes('s3:ListAllMyBuckets')).toEqual([]);
    expect(catalog.resourceTypes('s3:Nothing')).toBeUndefined();
    expect(catalog.actionAppliesTo('s3:GetObject', 'arn:aws:s3:::bucket/models/*')).toBe(true);
    expect(catalog.actionAppliesTo('s3:GetObject', 'arn:aws:sqs:us-east-1:123456789012:q')).toBe(false);
  });
});

describe('Function: readZipEntries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smhost-zip-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function zipOf(name: string, body: Buffer): Buffer {
    // A one-entry zip (deflated) laid out as the zip format defines it.
    const data = deflateRawSync(body);
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(body.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(body.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(0, 42);
    const centralOffset = local.length + nameBytes.length + data.length;
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(1, 8);
    end.writeUInt16LE(1, 10);
    end.writeUInt32LE(central.length + nameBytes.length, 12);
    end.writeUInt32LE(centralOffset, 16);
    return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
  }

  it('lists entries with their sizes and inflates their bytes', () => {
    // Prepare
    const body = Buffer.from('export const handler = 1;\n'.repeat(100));
    const path = join(dir, 'ok.zip');
    writeFileSync(path, zipOf('functions/a.mjs', body));

    // Act
    const entries = readZipEntries(path);

    // Assess
    expect(entries.map((e) => [e.name, e.uncompressedBytes])).toEqual([['functions/a.mjs', body.length]]);
    expect(entries[0]!.read().equals(body)).toBe(true);
  });

  it('refuses a file that is not a zip, naming it', () => {
    // Prepare
    const path = join(dir, 'not.zip');
    writeFileSync(path, 'plain text, no zip records here');

    // Act / Assess
    expect(() => readZipEntries(path)).toThrow(`${path} is not a readable zip: no end of central directory record`);
  });
});
