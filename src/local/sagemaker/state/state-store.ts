/**
 * The emulator's resources, kept as JSON in the data directory so a restart keeps models, endpoint configs,
 * endpoints, model packages and jobs. Records are stored in their `Describe*` shape (times in epoch seconds,
 * as the JSON 1.1 protocol sends them), keyed by lower-cased name: SageMaker names are case-insensitive.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type ResourceRecord = Record<string, unknown>;

export interface EmulatorState {
  models: Record<string, ResourceRecord>;
  endpointConfigs: Record<string, ResourceRecord>;
  endpoints: Record<string, ResourceRecord>;
  modelPackageGroups: Record<string, ResourceRecord>;
  /** Keyed by `<group>/<version>` for versioned packages, by name for unversioned ones. */
  modelPackages: Record<string, ResourceRecord>;
  transformJobs: Record<string, ResourceRecord>;
}

export type Collection = keyof EmulatorState;

export const STATE_FILE_NAME = 'sagemaker-state.json';

/** The state file exists but is not the emulator's JSON; it is left untouched for the user to inspect. */
export class StateFileError extends Error {
  override readonly name = 'StateFileError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`SageMaker emulator state ${file} ${detail}; move it away to start empty`);
  }
}

function emptyState(): EmulatorState {
  return { models: {}, endpointConfigs: {}, endpoints: {}, modelPackageGroups: {}, modelPackages: {}, transformJobs: {} };
}

export class StateStore {
  private readonly file: string;
  private readonly state: EmulatorState;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.file = join(dataDir, STATE_FILE_NAME);
    this.state = this.read();
  }

  private read(): EmulatorState {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return emptyState();
      throw new StateFileError(this.file, `cannot be read (${(error as NodeJS.ErrnoException).code})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new StateFileError(this.file, `is not valid JSON (${(error as Error).message})`);
    }
    if (typeof parsed !== 'object' || parsed === null) throw new StateFileError(this.file, 'is not a JSON object');
    const state = emptyState();
    for (const key of Object.keys(state) as Collection[]) {
      const value = (parsed as Record<string, unknown>)[key];
      if (value === undefined) continue;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StateFileError(this.file, `has a malformed "${key}"`);
      state[key] = value as Record<string, ResourceRecord>;
    }
    return state;
  }

  /** Writes the whole state atomically (temporary file, then rename), so a crash never leaves half a file. */
  private save(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 1));
    renameSync(tmp, this.file);
  }

  get(collection: Collection, name: string): ResourceRecord | undefined {
    return this.state[collection][name.toLowerCase()];
  }

  list(collection: Collection): ResourceRecord[] {
    return Object.values(this.state[collection]);
  }

  /** The records with the keys they are stored under (names, `<group>/<version>` for model packages). */
  entries(collection: Collection): Array<[string, ResourceRecord]> {
    return Object.entries(this.state[collection]);
  }

  /** Inserts or replaces a record and persists. */
  put(collection: Collection, name: string, record: ResourceRecord): void {
    this.state[collection][name.toLowerCase()] = record;
    this.save();
  }

  /** Merges fields into an existing record and persists; returns the updated record. */
  update(collection: Collection, name: string, fields: ResourceRecord): ResourceRecord | undefined {
    const current = this.get(collection, name);
    if (!current) return undefined;
    for (const [k, v] of Object.entries(fields)) {
      if (v === undefined) delete current[k];
      else current[k] = v;
    }
    this.save();
    return current;
  }

  delete(collection: Collection, name: string): boolean {
    const key = name.toLowerCase();
    if (!(key in this.state[collection])) return false;
    delete this.state[collection][key];
    this.save();
    return true;
  }
}

/** Now, in the epoch seconds JSON 1.1 uses for timestamps. */
export function nowSeconds(): number {
  return Date.now() / 1000;
}
