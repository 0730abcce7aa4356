/**
 * Which local program serves an image URI. SageMaker pulls a container image; locally an image URI is looked
 * up in the image map and run as a process speaking the same contract.
 *
 * The map is a JSON file, found at the emulator's `imageMapFile` option, else `SMHOST_IMAGE_MAP`, else
 * `<dataDir>/image-map.json` when that exists:
 *
 * ```json
 * {
 *   "images": {
 *     "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-onnx:*": { "builtin": "onnx" },
 *     "my-registry/my-server:1.2": {
 *       "command": ["python3", "serve.py"],
 *       "cwd": "../my-server",
 *       "environment": { "WORKERS": "1" }
 *     }
 *   }
 * }
 * ```
 *
 * Keys are image URIs; `*` matches any run of characters (`repo:*` is every tag of `repo`). An exact key wins
 * over a pattern, then the longest pattern wins. `command` is an argv (no shell); a relative `cwd` or
 * a relative first argument that names a file (`./serve.sh`) is resolved against the map file's folder.
 * Out of the box, without any map, {@link BUILTIN_ONNX_IMAGE} (any tag) runs the built-in ONNX container.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/** The image URI that maps to the built-in ONNX container when no map says otherwise (any tag). */
export const BUILTIN_ONNX_IMAGE = 'smhost/onnxruntime';
export const IMAGE_MAP_ENV = 'SMHOST_IMAGE_MAP';
export const IMAGE_MAP_FILE_NAME = 'image-map.json';

export type ImageTarget =
  | { kind: 'builtin'; server: 'onnx'; environment: Record<string, string> }
  | { kind: 'command'; command: string[]; cwd: string; environment: Record<string, string> };

/** The image map file is unreadable or breaks its format; `path` names the offending entry. */
export class ImageMapError extends Error {
  override readonly name = 'ImageMapError';
  constructor(
    readonly file: string,
    readonly path: string,
    rule: string,
  ) {
    super(`image map ${file}: ${path} ${rule}`);
  }
}

interface Entry {
  key: string;
  pattern: RegExp | undefined;
  target: ImageTarget;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}

function parseStringMap(value: unknown, file: string, path: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ImageMapError(file, path, 'must be an object of strings');
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new ImageMapError(file, `${path}.${k}`, 'must be a string');
  }
  return value as Record<string, string>;
}

function parseTarget(value: unknown, file: string, key: string, baseDir: string): ImageTarget {
  const path = `images[${JSON.stringify(key)}]`;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ImageMapError(file, path, 'must be an object with "builtin" or "command"');
  }
  const entry = value as Record<string, unknown>;
  const environment = parseStringMap(entry.environment, file, `${path}.environment`);
  if ('builtin' in entry && 'command' in entry) throw new ImageMapError(file, path, 'must have either "builtin" or "command", not both');
  if ('builtin' in entry) {
    if (entry.builtin !== 'onnx') throw new ImageMapError(file, `${path}.builtin`, 'must be "onnx" (the only built-in container)');
    return { kind: 'builtin', server: 'onnx', environment };
  }
  const command = entry.command;
  if (!Array.isArray(command) || command.length === 0 || command.some((a) => typeof a !== 'string' || a === '')) {
    throw new ImageMapError(file, `${path}.command`, 'must be a non-empty array of non-empty strings (an argv, run without a shell)');
  }
  if (entry.cwd !== undefined && typeof entry.cwd !== 'string') throw new ImageMapError(file, `${path}.cwd`, 'must be a string');
  const cwd = typeof entry.cwd === 'string' ? resolve(baseDir, entry.cwd) : baseDir;
  const argv = [...(command as string[])];
  if (argv[0]!.startsWith('./') || argv[0]!.startsWith('../')) argv[0] = resolve(baseDir, argv[0]!);
  return { kind: 'command', command: argv, cwd, environment };
}

/** A loaded image map. */
export class ImageMap {
  private constructor(
    private readonly entries: Entry[],
    /** The file it was read from, if any (shown in failure reasons). */
    readonly file: string | undefined,
    /** Where a map would be read from at the next start, when there is none yet (shown in failure reasons). */
    private readonly expectedFile?: string,
  ) {}

  /** The built-in defaults only; `expectedFile` is where a user would write a map. */
  static defaults(expectedFile?: string): ImageMap {
    return new ImageMap(ImageMap.builtinEntries(), undefined, expectedFile);
  }

  private static builtinEntries(): Entry[] {
    const target: ImageTarget = { kind: 'builtin', server: 'onnx', environment: {} };
    return [
      { key: BUILTIN_ONNX_IMAGE, pattern: undefined, target },
      { key: `${BUILTIN_ONNX_IMAGE}:*`, pattern: globToRegExp(`${BUILTIN_ONNX_IMAGE}:*`), target },
    ];
  }

  /** Parses map text; `file` is used for messages and as the base of relative paths. */
  static parse(text: string, file: string): ImageMap {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw new ImageMapError(file, '(file)', `is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ImageMapError(file, '(file)', 'must be a JSON object with "images"');
    const images = (raw as Record<string, unknown>).images;
    if (typeof images !== 'object' || images === null || Array.isArray(images)) {
      throw new ImageMapError(file, 'images', 'must be an object whose keys are image URIs');
    }
    const baseDir = dirname(resolve(file));
    const entries: Entry[] = Object.entries(images).map(([key, value]) => {
      if (key.trim() === '') throw new ImageMapError(file, 'images', 'must not have an empty image URI as a key');
      return { key, pattern: key.includes('*') ? globToRegExp(key) : undefined, target: parseTarget(value, file, key, baseDir) };
    });
    // The user's entries come first, so they can remap the built-in image URI too.
    return new ImageMap([...entries, ...ImageMap.builtinEntries()], file);
  }

  /**
   * Loads the map from `file`, else `SMHOST_IMAGE_MAP`, else `<dataDir>/image-map.json` if present; with none
   * of them, the built-in defaults.
   *
   * @throws {ImageMapError} when a named file is missing or malformed.
   */
  static load(file: string | undefined, dataDir: string, env: NodeJS.ProcessEnv = process.env): ImageMap {
    const named = file ?? env[IMAGE_MAP_ENV];
    const candidate = named ?? join(dataDir, IMAGE_MAP_FILE_NAME);
    if (named === undefined && !existsSync(candidate)) return ImageMap.defaults(resolve(candidate));
    const path = isAbsolute(candidate) ? candidate : resolve(candidate);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ImageMapError(path, '(file)', `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    return ImageMap.parse(text, path);
  }

  /** The program for `image`, or `undefined` when nothing maps it. */
  resolve(image: string): ImageTarget | undefined {
    const exact = this.entries.find((e) => e.pattern === undefined && e.key === image);
    if (exact) return exact.target;
    const matches = this.entries.filter((e) => e.pattern?.test(image));
    matches.sort((a, b) => b.key.length - a.key.length);
    return matches[0]?.target;
  }

  /** Why `image` cannot run, for an endpoint's `FailureReason`. */
  unmappedReason(image: string): string {
    const where = this.file
      ? `add it to the image map ${this.file}`
      : `map it in ${this.expectedFile ?? `<data dir>/sagemaker/${IMAGE_MAP_FILE_NAME}`} (read at start; or name a file with ${IMAGE_MAP_ENV})`;
    return `Image ${image} is not mapped to a local container: ${where}, or use ${BUILTIN_ONNX_IMAGE}:<tag> for the built-in ONNX container.`;
  }
}
