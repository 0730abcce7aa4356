import { CliError, ExitCode, type ExitCodeValue } from './errors';
import type { AddModelResult } from './models/add';
import type { InvokeModelResult } from './models/invoke';
import type { ListModelsResult } from './models/list';
import type { PromoteOutcome } from './models/promote';
import type { PruneResult } from './models/prune';
import type { RedriveResult } from './models/redrive';
import type { RemoveOutcome } from './models/remove';
import type { ModelVersionsResult } from './models/versions';

/** Where the command line writes; tests pass buffers, `main.ts` passes the process streams. */
export interface CliStreams {
  stdout: { write(chunk: string | Uint8Array): unknown; isTTY?: boolean; isFile?: boolean };
  stderr: { write(chunk: string | Uint8Array): unknown; isTTY?: boolean };
}

/** How the human output is dressed: ANSI dim for secondary lines only where a person reads a terminal. */
export interface OutputStyle {
  color?: boolean;
}

/** Colour on stderr only when it is a terminal and neither `NO_COLOR` nor `TERM=dumb` asks otherwise. */
export function wantsColor(streams: CliStreams, env: NodeJS.ProcessEnv): boolean {
  return Boolean(streams.stderr.isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
}

/**
 * The one place that decides what goes where: with `--json`, stdout carries exactly one JSON document
 * (the result, or `{ "error": ... }`) so scripts can parse it; logs always go to stderr.
 */
export class Output {
  readonly json: boolean;
  private readonly streams: CliStreams;
  private readonly color: boolean;
  private wroteResult = false;

  constructor(streams: CliStreams, json: boolean, style: OutputStyle = {}) {
    this.streams = streams;
    this.json = json;
    this.color = Boolean(style.color);
  }

  /** A progress or diagnostic line, never mixed into the result. */
  log(message: string): void {
    this.streams.stderr.write(`${message}\n`);
  }

  /** A secondary progress line (something expected that was handled): dim on a terminal, plain elsewhere. */
  note(message: string): void {
    this.streams.stderr.write(this.color ? `\u001b[2m${message}\u001b[22m\n` : `${message}\n`);
  }

  /** Writes the command's result: the document itself with `--json`, else its human rendering. */
  result(document: unknown, human: string): void {
    this.wroteResult = true;
    if (this.json) this.streams.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    else this.streams.stdout.write(human.endsWith('\n') || human === '' ? human : `${human}\n`);
  }

  /**
   * Writes raw bytes to stdout (an inference response body in human mode). A terminal or a pipe gets a final
   * newline when the body lacks one, so the prompt (or the next line a reader takes) starts on its own line;
   * stdout redirected to a file gets the bytes exactly.
   */
  bytes(body: Uint8Array): void {
    this.wroteResult = true;
    this.streams.stdout.write(body);
    const endsInNewline = body.length > 0 && body[body.length - 1] === 0x0a;
    if (!this.streams.stdout.isFile && body.length > 0 && !endsInNewline) this.streams.stdout.write('\n');
  }

  /**
   * Reports a failure and returns its exit code. With `--json` the error is also the stdout document
   * (unless a result was already written), so a script always has one document to parse.
   */
  error(error: unknown): ExitCodeValue {
    const { exitCode, document } = describeError(error);
    this.streams.stderr.write(`smhost: ${document.message}\n`);
    if (this.json && !this.wroteResult) {
      this.wroteResult = true;
      this.streams.stdout.write(`${JSON.stringify({ error: document }, null, 2)}\n`);
    }
    return exitCode;
  }
}

interface ErrorDocument {
  name: string;
  message: string;
  exitCode: ExitCodeValue;
  [key: string]: unknown;
}

function describeError(error: unknown): { exitCode: ExitCodeValue; document: ErrorDocument } {
  if (error instanceof CliError) {
    return {
      exitCode: error.exitCode,
      document: { name: error.name, message: error.message, exitCode: error.exitCode, ...error.details },
    };
  }
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: ExitCode.Failed, document: { name, message, exitCode: ExitCode.Failed } };
}

/** A column of a human table: its heading and how to read a row's cell. */
export interface Column<Row> {
  header: string;
  cell: (row: Row) => string | number | boolean | undefined | null;
  /** Right-aligns numbers. */
  align?: 'left' | 'right';
}

/** Renders rows as an aligned plain-text table with a header line; `empty` when there are no rows. */
export function formatTable<Row>(columns: Column<Row>[], rows: Row[], empty = '(none)'): string {
  if (rows.length === 0) return `${empty}\n`;
  const cells = rows.map((row) => columns.map((c) => show(c.cell(row))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (columns[i]!.align === 'right' ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(columns.map((c) => c.header)), ...cells.map(line)].join('\n')}\n`;
}

function show(value: string | number | boolean | undefined | null): string {
  if (value === undefined || value === null || value === '') return '-';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  // Control characters in names (not accepted by the CLI, but possible in a registry) must not break the layout.
  return String(value).replace(/[\u0000-\u001f\u007f]/g, '?');
}

/** Renders `key: value` lines, aligned, skipping absent values. */
export function formatFields(fields: [string, string | number | boolean | undefined | null][]): string {
  const present = fields.filter(([, v]) => v !== undefined && v !== null && v !== '');
  const width = Math.max(0, ...present.map(([k]) => k.length));
  return `${present.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${show(v)}`).join('\n')}\n`;
}

/** Human rendering of an add. */
export function renderAdd(result: AddModelResult): string {
  const o = result.outcome;
  const fields: [string, string | number | boolean | undefined][] = [
    ['endpoint', result.endpoint],
    ['model', result.model],
    ['uploaded', `s3://${result.bucket}/${result.key}`],
    ['etag', result.etag],
    ['size', result.size],
    ['sample', result.sampleKey ? `s3://${result.bucket}/${result.sampleKey}` : undefined],
  ];
  if (!o) return formatFields([...fields, ['outcome', 'not awaited (--no-wait)']]);
  fields.push(['outcome', o.outcome]);
  if (o.outcome === 'registered') {
    fields.push(
      ['version', o.version],
      ['target model', o.targetModel],
      ['current', o.current],
      ['status', o.versionStatus],
    );
  } else if (o.rule) {
    fields.push(['rule', o.rule]);
  }
  fields.push(['reason', o.reason]);
  return formatFields(fields);
}


/** Human rendering of `list`: a table of models, or the raw archive paths with `--archives`. */
export function renderList(result: ListModelsResult, options: { archives: boolean }): string {
  if (options.archives) return result.archives.length === 0 ? '(none)\n' : `${result.archives.join('\n')}\n`;
  const table = formatTable(
    [
      { header: 'MODEL', cell: (m) => m.model },
      { header: 'CURRENT', cell: (m) => m.currentVersion },
      { header: 'STATUS', cell: (m) => (m.status === 'removed' ? 'removed' : m.currentStatus) },
      { header: 'ARCHIVES', cell: (m) => m.liveArchives, align: 'right' },
      { header: 'TARGET MODEL', cell: (m) => m.targetModel },
    ],
    result.models,
    `(no models on endpoint ${result.endpoint})`,
  );
  const count = result.archives.length;
  return `${table}model data: ${result.modelDataUrl} (${count} ${count === 1 ? 'archive' : 'archives'})\n`;
}

/** Human rendering of `versions`: newest first, the current one starred. */
export function renderVersions(result: ModelVersionsResult): string {
  return formatTable(
    [
      { header: '', cell: (v) => (v.current ? '*' : ' ') },
      { header: 'VERSION', cell: (v) => v.version },
      { header: 'STATUS', cell: (v) => v.status },
      { header: 'SIZE', cell: (v) => v.compressedBytes, align: 'right' },
      { header: 'CREATED', cell: (v) => v.createdAt },
      { header: 'REASON', cell: (v) => v.reason },
    ],
    result.versions,
    `(model ${result.model} has no versions)`,
  );
}

/** Human rendering of `promote`. */
export function renderPromote(result: PromoteOutcome): string {
  return formatFields([
    ['endpoint', result.endpoint],
    ['model', result.model],
    ['previous', result.previousVersion ?? 'none'],
    ['current', result.currentVersion],
    ['target model', result.targetModel],
    ['warm-up', result.warmUp ? result.warmUp.kind : undefined],
  ]);
}

/** Human rendering of `remove`. */
export function renderRemove(result: RemoveOutcome): string {
  return formatFields([
    ['endpoint', result.endpoint],
    ['model', result.model],
    ['status', result.status ?? 'removed'],
    ['deleted', result.deletedKeys.length > 0 ? result.deletedKeys.join(', ') : 'nothing (no live copies left)'],
  ]);
}

/** Human rendering of `redrive`: the counts, then each failure. */
export function renderRedrive(result: RedriveResult): string {
  const counts = formatFields([
    ['from', result.sourceQueueUrl],
    ['to', result.targetQueueUrl],
    ['moved', result.moved],
    ['failed', result.failed],
    ['not deleted', result.notDeleted || undefined],
    ['came back', result.returned || undefined],
  ]);
  if (result.failures.length === 0) return counts;
  return `${counts}${formatTable(
    [
      { header: 'MESSAGE', cell: (f) => f.messageId },
      { header: 'REASON', cell: (f) => f.reason },
    ],
    result.failures,
  )}`;
}

/** Human rendering of `invoke`: the response body as received, so it can be piped. */
export function renderInvoke(output: Output, result: InvokeModelResult): void {
  output.bytes(result.body);
}

/** Human rendering of `prune`. */
export function renderPrune(result: PruneResult): string {
  return formatFields([
    ['endpoint', result.endpoint],
    ['model', result.model],
    ['kept', result.kept.length > 0 ? result.kept.join(', ') : 'none'],
    ['removed', result.removed.length > 0 ? result.removed.join(', ') : 'none'],
  ]);
}
