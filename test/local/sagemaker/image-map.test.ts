import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILTIN_ONNX_IMAGE, ImageMap, ImageMapError } from '../../../src/local/sagemaker';

describe('Function: ImageMap.resolve', () => {
  it('maps the built-in ONNX image with any tag out of the box, and nothing else', () => {
    // Prepare
    const map = ImageMap.defaults();

    // Act & Assess
    expect(map.resolve(BUILTIN_ONNX_IMAGE)?.kind).toBe('builtin');
    expect(map.resolve(`${BUILTIN_ONNX_IMAGE}:1.2`)?.kind).toBe('builtin');
    expect(map.resolve('smhost/onnxruntime-gpu:1')).toBeUndefined();
    expect(map.unmappedReason('x:1')).toMatch(/^Image x:1 is not mapped to a local container: map it in <data dir>\/sagemaker\/image-map\.json \(read at start; or name a file with SMHOST_IMAGE_MAP\)/);
  });

  it('names the file a map would be read from when the data dir has none', () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'image-map-none-'));

    // Act
    const reason = ImageMap.load(undefined, dataDir, {}).unmappedReason('nosuch/image:1');

    // Assess
    rmSync(dataDir, { recursive: true, force: true });
    expect(reason).toBe(
      `Image nosuch/image:1 is not mapped to a local container: map it in ${join(dataDir, 'image-map.json')} (read at start; or name a file with SMHOST_IMAGE_MAP), or use smhost/onnxruntime:<tag> for the built-in ONNX container.`,
    );
  });

  it('prefers exact keys, then the longest pattern, and resolves relative commands against the map folder', () => {
    // Prepare
    const map = ImageMap.parse(
      JSON.stringify({
        images: {
          'acct.dkr.ecr.*.amazonaws.com/*': { builtin: 'onnx' },
          'acct.dkr.ecr.*.amazonaws.com/server:*': { command: ['./serve.sh', '--fast'], environment: { WORKERS: '1' } },
          'acct.dkr.ecr.us-east-1.amazonaws.com/server:exact': { command: ['python3', 'serve.py'], cwd: 'srv' },
        },
      }),
      '/maps/image-map.json',
    );

    // Act
    const pattern = map.resolve('acct.dkr.ecr.eu-west-1.amazonaws.com/server:2');
    const exact = map.resolve('acct.dkr.ecr.us-east-1.amazonaws.com/server:exact');
    const wide = map.resolve('acct.dkr.ecr.eu-west-1.amazonaws.com/other:1');

    // Assess
    expect(pattern).toEqual({ kind: 'command', command: ['/maps/serve.sh', '--fast'], cwd: '/maps', environment: { WORKERS: '1' } });
    expect(exact).toEqual({ kind: 'command', command: ['python3', 'serve.py'], cwd: '/maps/srv', environment: {} });
    expect(wide?.kind).toBe('builtin');
  });

  it('refuses malformed maps, naming the file and the entry', () => {
    expect(() => ImageMap.parse('{', 'm.json')).toThrow(ImageMapError);
    expect(() => ImageMap.parse('{}', 'm.json')).toThrow(/image map m.json: images must be an object/);
    expect(() => ImageMap.parse('{"images":{"a":{"command":[]}}}', 'm.json')).toThrow(/images\["a"\].command must be a non-empty array/);
    expect(() => ImageMap.parse('{"images":{"a":{"builtin":"torch"}}}', 'm.json')).toThrow(/images\["a"\].builtin must be "onnx"/);
    expect(() => ImageMap.parse('{"images":{"a":{"builtin":"onnx","command":["x"]}}}', 'm.json')).toThrow(/either "builtin" or "command", not both/);
    expect(() => ImageMap.parse('{"images":{"a":{"command":["x"],"environment":{"A":1}}}}', 'm.json')).toThrow(/environment.A must be a string/);
  });
});

describe('Function: ImageMap.load', () => {
  it('reads <dataDir>/image-map.json when no file is named, and fails clearly for a named file that is missing', () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'image-map-'));
    writeFileSync(join(dir, 'image-map.json'), JSON.stringify({ images: { 'mine:1': { command: ['node', 'server.js'] } } }));

    try {
      // Act
      const fromDataDir = ImageMap.load(undefined, dir, {});
      const fromEnv = () => ImageMap.load(undefined, dir, { SMHOST_IMAGE_MAP: join(dir, 'missing.json') });

      // Assess
      expect(fromDataDir.resolve('mine:1')?.kind).toBe('command');
      expect(fromEnv).toThrow(/missing.json: \(file\) cannot be read \(ENOENT\)/);
      expect(ImageMap.load(undefined, join(dir, 'none'), {}).resolve('mine:1')).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
