import { describe, expect, it } from 'vitest';
import {
  decodeEventKey,
  liveKeyOf,
  modelDataUrlOf,
  parseIncomingKey,
  parseLiveKey,
  sampleKeyOf,
  targetModelOf,
} from '../../src/multimodel/layout';

const layout = { incomingPrefix: 'incoming/', modelsPrefix: 'models/' };

describe('Function: decodeEventKey', () => {
  it('turns + into a space and decodes percent escapes, so %2B is a literal +', () => {
    // Prepare
    const encoded = 'incoming/ep/my+model%2Bv2+%C3%A9t%C3%A9.tar.gz';

    // Act
    const result = decodeEventKey(encoded);

    // Assess
    expect(result).toEqual({ ok: true, key: 'incoming/ep/my model+v2 été.tar.gz' });
  });

  it('reports keys that are not valid URL encoding', () => {
    const result = decodeEventKey('incoming/ep/bad%E0%A4%A.tar.gz');
    expect(result).toMatchObject({ ok: false, rule: 'bad-key-encoding' });
  });
});

describe('Function: parseIncomingKey', () => {
  it('derives endpoint and model, the model keeping its slashes', () => {
    expect(parseIncomingKey('incoming/ep-1/team/churn/xgb.tar.gz', layout)).toEqual({
      ok: true,
      endpoint: 'ep-1',
      model: 'team/churn/xgb',
    });
  });

  it('accepts spaces, + and unicode inside model names', () => {
    expect(parseIncomingKey('incoming/ep/my model+1 日本.tar.gz', layout)).toEqual({
      ok: true,
      endpoint: 'ep',
      model: 'my model+1 日本',
    });
  });

  it.each([
    ['other/ep/m.tar.gz', 'outside-incoming'],
    ['incoming/ep/m.tar.gz/', 'folder-key'],
    ['incoming/ep/', 'folder-key'],
    ['incoming/ep/m.zip', 'wrong-suffix'],
    ['incoming/ep/m.sample.json', 'wrong-suffix'],
    ['incoming/m.tar.gz', 'outside-endpoint'],
    ['incoming/bad_endpoint/m.tar.gz', 'bad-endpoint-name'],
    ['incoming/-ep/m.tar.gz', 'bad-endpoint-name'],
    [`incoming/${'e'.repeat(64)}/m.tar.gz`, 'bad-endpoint-name'],
    ['incoming//m.tar.gz', 'bad-endpoint-name'],
    ['incoming/ep/.tar.gz', 'bad-model-name'],
    ['incoming/ep/a//b.tar.gz', 'bad-model-name'],
    ['incoming/ep/../b.tar.gz', 'bad-model-name'],
    ['incoming/ep/a/./b.tar.gz', 'bad-model-name'],
    ['incoming/ep/ leading.tar.gz', 'bad-model-name'],
    ['incoming/ep/a\u0007b.tar.gz', 'bad-model-name'],
    ['incoming/ep/a\\b.tar.gz', 'bad-model-name'],
    [`incoming/ep/${'m'.repeat(1000)}.tar.gz`, 'key-too-long'],
  ])('refuses %j with rule %s and a reason naming the key', (key, rule) => {
    // Act
    const result = parseIncomingKey(key, layout);

    // Assess
    expect(result).toMatchObject({ ok: false, rule });
    if (!result.ok) expect(result.reason).toContain(JSON.stringify(key));
  });

  it('honours other prefixes', () => {
    expect(parseIncomingKey('drop/zone/ep/m.tar.gz', { incomingPrefix: 'drop/zone/', modelsPrefix: 'live/' })).toEqual({
      ok: true,
      endpoint: 'ep',
      model: 'm',
    });
  });
});

describe('Function: liveKeyOf', () => {
  it('builds the live key, TargetModel, ModelDataUrl and sample key of a version', () => {
    expect(liveKeyOf('models/', 'ep', 'a/b', '0123456789abcdef')).toBe('models/ep/a/b/0123456789abcdef.tar.gz');
    expect(targetModelOf('a/b', '0123456789abcdef')).toBe('a/b/0123456789abcdef.tar.gz');
    expect(modelDataUrlOf('bucket', 'models/', 'ep')).toBe('s3://bucket/models/ep/');
    expect(sampleKeyOf('incoming/', 'ep', 'a/b')).toBe('incoming/ep/a/b.sample.json');
  });
});

describe('Function: parseLiveKey', () => {
  it('derives endpoint, model and version', () => {
    expect(parseLiveKey('models/ep/a/b/0123456789abcdef.tar.gz', 'models/')).toEqual({
      ok: true,
      endpoint: 'ep',
      model: 'a/b',
      version: '0123456789abcdef',
    });
  });

  it.each([
    ['incoming/ep/m/0123456789abcdef.tar.gz', 'outside-models'],
    ['models/ep/m/0123456789abcdef.zip', 'wrong-suffix'],
    ['models/ep/0123456789abcdef.tar.gz', 'outside-endpoint'],
    ['models/ep/m/latest.tar.gz', 'bad-version'],
    ['models/bad_ep/m/0123456789abcdef.tar.gz', 'bad-endpoint-name'],
    ['models/ep/a//0123456789abcdef.tar.gz', 'bad-model-name'],
  ])('refuses %j with rule %s', (key, rule) => {
    expect(parseLiveKey(key, 'models/')).toMatchObject({ ok: false, rule });
  });
});
