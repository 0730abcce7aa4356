/**
 * A small runner for the demo's steps: each step prints while it runs, returns what it verified, and is
 * timed, so the closing summary says what was checked and how long it took, and the first failed step is
 * named in the exit status.
 */

export interface StepResult {
  /** What the step checked, in one line, e.g. `3 artifacts registered, 2 refused with their rules`. */
  verified: string;
}

export interface StepRecord {
  name: string;
  ok: boolean;
  verified?: string;
  error?: string;
  durationMs: number;
}

export class DemoStepFailedError extends Error {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(`step "${step}" failed: ${message}`);
    this.name = 'DemoStepFailedError';
  }
}

export type Print = (line: string) => void;

export class DemoRun {
  readonly records: StepRecord[] = [];

  constructor(private readonly print: Print) {}

  /** Runs one step; a thrown error ends the demo with this step named. */
  async step(name: string, body: (progress: Print) => Promise<StepResult>): Promise<void> {
    const started = performance.now();
    this.print(`\n▶ ${name}`);
    try {
      const result = await body((line) => this.print(`  ${line}`));
      const durationMs = performance.now() - started;
      this.records.push({ name, ok: true, verified: result.verified, durationMs });
      this.print(`  ✔ ${result.verified} (${formatDuration(durationMs)})`);
    } catch (error) {
      const durationMs = performance.now() - started;
      const message = error instanceof Error ? error.message : String(error);
      this.records.push({ name, ok: false, error: message, durationMs });
      this.print(`  ✘ ${message}`);
      throw new DemoStepFailedError(name, message);
    }
  }

  /** The closing table: each step, what it verified, how long it took. */
  summary(): string {
    const width = Math.max(...this.records.map((r) => r.name.length), 4);
    const lines = this.records.map(
      (r) => `${r.ok ? '✔' : '✘'} ${r.name.padEnd(width)}  ${formatDuration(r.durationMs).padStart(7)}  ${r.ok ? r.verified : r.error}`,
    );
    const total = this.records.reduce((sum, r) => sum + r.durationMs, 0);
    return [...lines, `  ${'total'.padEnd(width)}  ${formatDuration(total).padStart(7)}`].join('\n');
  }
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Fails the current step with a message saying what was expected. */
export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}
