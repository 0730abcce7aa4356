/**
 * A container as a local process speaking the SageMaker container contract: it is started with SageMaker's
 * variables, is healthy once `GET /ping` answers 200, and serves `POST /invocations`. Its output goes to a
 * log file, the local stand-in for the container's CloudWatch log stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { builtinContainerCommand } from './builtin-container-command';
import { ContainerHttpClient, type ContainerResponse } from './container-http-client';
import { prepareStandby, standbyCanServe, takeStandby } from './container-standby';
import type { ImageTarget } from './image-map';
import { guardProcessGroup, releaseProcessGroup } from './orphan-guard';
import { freePort } from './ports';

/** Everything needed to start one container. */
export interface ContainerLaunch {
  /** Shown in messages: `<endpoint>/<variant>/<hostname>`. */
  label: string;
  target: ImageTarget;
  /** The extracted model data (`SM_MODEL_DIR`; `/opt/ml/model` in SageMaker). */
  modelDir: string;
  /** The container definition's `Environment`. */
  environment: Record<string, string>;
  multiModel: boolean;
  logFile: string;
}

/** The container ended or never became healthy; `reason` is worded for a `FailureReason`. */
export class ContainerStartError extends Error {
  override readonly name = 'ContainerStartError';
  constructor(readonly reason: string) {
    super(reason);
  }
}

export { ContainerTimeoutError, ContainerUnreachableError, type ContainerResponse } from './container-http-client';

const STDERR_TAIL_LINES = 15;
/** First and longest pause between `/ping` polls: short at first, since a container is up in a few hundred ms. */
const FIRST_PING_DELAY_MS = 5;
const MAX_PING_DELAY_MS = 100;
/** How long after a container taken from the standby is healthy the next standby starts (see container-standby.ts). */
const STANDBY_AFTER_HEALTHY_MS = 1000;
/** How long after a built-in container stops the next standby starts, so that stopping many at once starts one. */
const STANDBY_AFTER_STOP_MS = 50;

export class ContainerProcess {
  private readonly client: ContainerHttpClient;
  private readonly stderrTail: string[] = [];
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;
  private stopping = false;
  /** Wakes a `/ping` poll waiting between attempts: output from the process is a hint it may be up. */
  private wake: (() => void) | undefined;
  /** Chunks of output so far, so a poll can tell output came while its ping was under way. */
  private outputs = 0;

  private constructor(
    readonly launch: ContainerLaunch,
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly log: WriteStream,
    /** The built-in container's command, when a standby process can serve its like. */
    private readonly standbyArgv: string[] | undefined,
    private readonly fromStandby: boolean,
  ) {
    this.client = new ContainerHttpClient(port, launch.label);
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        this.exitInfo = { code: child.exitCode, signal: child.signalCode };
        return resolve();
      }
      guardProcessGroup(child.pid);
      child.once('exit', (code, signal) => {
        releaseProcessGroup(child.pid);
        this.exitInfo = { code, signal };
        this.log.write(`--- exited (code ${code}, signal ${signal})\n`);
        resolve();
      });
      child.once('error', (error) => {
        this.exitInfo ??= { code: null, signal: null };
        this.stderrTail.push(error.message);
        resolve();
      });
    });
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        this.stderrTail.push(line);
        if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      }
    };
    const hint = () => {
      this.outputs += 1;
      this.wake?.();
    };
    child.stdout?.on('data', hint);
    child.stdout?.pipe(log, { end: false });
    child.stderr?.on('data', hint);
    child.stderr?.on('data', keep);
    child.stderr?.pipe(log, { end: false });
  }

  /** Starts the process on a free port with SageMaker's variables and the container's `Environment`. */
  static async start(launch: ContainerLaunch): Promise<ContainerProcess> {
    let argv: string[];
    let how = '';
    if (launch.target.kind === 'builtin') {
      const command = await builtinContainerCommand();
      argv = command.argv;
      how = `; built-in container: ${command.note}`;
    } else {
      argv = launch.target.command;
    }
    // The port last, so that as little time as possible passes between choosing it and the process binding it.
    const port = await freePort();
    mkdirSync(dirname(launch.logFile), { recursive: true });
    const log = createWriteStream(launch.logFile, { flags: 'a' });
    const cwd = launch.target.kind === 'command' ? launch.target.cwd : process.cwd();
    const variables: Record<string, string> = {
      ...launch.target.environment,
      ...launch.environment,
      SAGEMAKER_BIND_TO_PORT: String(port),
      // A hint, as in SageMaker: ports a container may use internally. Not reserved locally.
      SAGEMAKER_SAFE_PORT_RANGE: `${Math.min(port + 1, 65000)}-${Math.min(port + 100, 65535)}`,
      SAGEMAKER_MULTI_MODEL: launch.multiModel ? 'true' : 'false',
      SM_MODEL_DIR: launch.modelDir,
    };
    const standbyArgv =
      launch.target.kind === 'builtin' && standbyCanServe({ ...launch.target.environment, ...launch.environment }) ? argv : undefined;
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries({ ...process.env, ...variables })) if (value !== undefined) env[name] = value;
    let child = standbyArgv ? await takeStandby(standbyArgv, env) : undefined;
    const fromStandby = child !== undefined;
    if (fromStandby) how += `; taken from standby (pid ${child!.pid})`;
    log.write(`--- starting ${launch.label}: ${argv.join(' ')} (port ${port}, model dir ${launch.modelDir})${how}\n`);
    // A process group of its own: Ctrl-C in a terminal signals the whole foreground group, and the emulator
    // stops its containers itself, in order, rather than have them die under a deployment that replaces them.
    child ??= spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    // When the next standby starts is explained in container-standby.ts.
    if (standbyArgv && !fromStandby) prepareStandby(standbyArgv);
    return new ContainerProcess(launch, port, child, log, standbyArgv, fromStandby);
  }

  /** Calls `listener` once if the process ends without `stop()` having been asked for. */
  onUnexpectedExit(listener: (reason: string) => void): void {
    void this.exited.then(() => {
      if (!this.stopping) listener(this.exitReason());
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** The last lines the process wrote to stderr, for failure reasons. */
  stderr(): string {
    return this.stderrTail.join('\n');
  }

  private exitReason(): string {
    const info = this.exitInfo!;
    const how = info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
    const tail = this.stderr();
    return `Container ${this.launch.label} ${how}${tail ? `: ${tail}` : ''}`;
  }

  /**
   * Polls `GET /ping` until it answers 200. Fails when the process exits first or `timeoutMs` passes,
   * with a reason naming the container, its exit code and the end of its stderr.
   */
  async waitHealthy(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let delay = FIRST_PING_DELAY_MS;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (signal?.aborted) throw new ContainerStartError(`Start of container ${this.launch.label} was cancelled`);
      if (!this.running) throw new ContainerStartError(this.exitReason());
      const outputsBefore = this.outputs;
      try {
        const res = await this.request('GET', '/ping', {}, undefined, Math.max(100, Math.min(2000, deadline - Date.now())));
        if (res.status === 200) {
          if (this.standbyArgv && this.fromStandby) prepareStandby(this.standbyArgv, STANDBY_AFTER_HEALTHY_MS);
          return;
        }
        last = `status ${res.status}`;
      } catch (error) {
        last = (error as Error).message;
      }
      // Output while the ping was under way (typically "listening on ...") is worth a prompt second look.
      const pause = this.outputs !== outputsBefore ? 1 : delay;
      let timer: NodeJS.Timeout | undefined;
      let wake: (() => void) | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, pause);
          wake = () => resolve();
          this.wake = wake;
          signal?.addEventListener('abort', wake, { once: true });
        }),
        this.exited,
      ]);
      clearTimeout(timer);
      if (wake) signal?.removeEventListener('abort', wake);
      this.wake = undefined;
      if (pause === delay) delay = Math.min(delay * 1.5, MAX_PING_DELAY_MS);
    }
    if (!this.running) throw new ContainerStartError(this.exitReason());
    throw new ContainerStartError(
      `Container ${this.launch.label} did not pass the ping health check within ${Math.round(timeoutMs / 100) / 10} seconds (last: ${last})`,
    );
  }

  /**
   * One HTTP request to the container over a kept-alive connection.
   *
   * @throws {ContainerTimeoutError} when it does not answer within `timeoutMs`.
   * @throws {ContainerUnreachableError} when it cannot be reached or its answer is not HTTP.
   */
  request(method: string, path: string, headers: Record<string, string>, body: Buffer | undefined, timeoutMs: number): Promise<ContainerResponse> {
    return this.client.request(method, path, headers, body, timeoutMs);
  }

  /** The container's whole process group (its own, see `start`), so workers it started stop with it. */
  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.child.pid!, signal);
    } catch {
      this.child.kill(signal);
    }
  }

  /** Stops the process and its group: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = 2000): Promise<void> {
    this.client.destroy();
    if (this.running && !this.stopping) {
      this.stopping = true;
      this.signalGroup('SIGTERM');
      const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
      if (this.standbyArgv) prepareStandby(this.standbyArgv, STANDBY_AFTER_STOP_MS);
    } else {
      await this.exited;
    }
    await new Promise<void>((resolve) => this.log.end(resolve));
  }
}
