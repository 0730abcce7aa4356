/**
 * Standby mode of the built-in container (started with `--standby`, by the emulator only). Most of a
 * container's start is the same for every model: Node's own start, loading onnxruntime's native library,
 * onnxruntime's one-time set-up of its environment, which the first session of a process pays (50 to
 * 100 ms for even a one-node graph; later sessions take about 1 ms), and Node's first TCP server. A
 * standby process does all of that ahead of need, then waits for the emulator to hand it a container's
 * environment over IPC (the emulator's own, `SAGEMAKER_BIND_TO_PORT`, `SM_MODEL_DIR`, the container's
 * `Environment`), takes it as its own, and from then on runs exactly as a container started with it would.
 */
import { ort } from '../../../onnx/runtime';
import { serveHttp1 } from '../../http1/socket-server';

/** The argument that starts the built-in container in standby mode. */
export const STANDBY_ARG = '--standby';

/** What the emulator sends a standby process: the whole environment its container starts with. */
export interface StandbyAssignment {
  environment: Record<string, string>;
}

/**
 * A one-node graph (`y = Identity(x)`, float[1]), as `src/onnx` encodes it: only there to make onnxruntime
 * set up its environment before any real model arrives.
 */
export const WARM_UP_MODEL_BASE64 =
  'CAgSBnNtaG9zdBoBMTIAOksKHgoBeBIBeRoKSWRlbnRpdHlfeSIISWRlbnRpdHk6ABIHd2FybS11cFoPCgF4EgoKCAgBEgQKAggBYg8KAXkSCgoICAESBAoCCAFCBAoAEA1CDgoKYWkub25ueC5tbBAC';

function isAssignment(message: unknown): message is StandbyAssignment {
  if (typeof message !== 'object' || message === null) return false;
  const environment = (message as { environment?: unknown }).environment;
  return (
    typeof environment === 'object' &&
    environment !== null &&
    !Array.isArray(environment) &&
    Object.values(environment).every((v) => typeof v === 'string')
  );
}

/**
 * Warms onnxruntime up, then waits for the assignment and applies it to `process.env`. Ends the process
 * if the emulator goes away first.
 *
 * @throws {Error} when the message is not an assignment (the process then exits with the reason).
 */
export async function waitForAssignment(): Promise<void> {
  if (!process.send) throw new Error(`${STANDBY_ARG} needs an IPC channel to the emulator`);
  // Listening first: a message that arrived while onnxruntime was busy would otherwise be lost.
  const assigned = new Promise<unknown>((resolve) => process.once('message', resolve));
  const orphaned = () => process.exit(0);
  process.once('disconnect', orphaned);
  const session = await ort.InferenceSession.create(Buffer.from(WARM_UP_MODEL_BASE64, 'base64'), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  await session.release();
  // Node sets up its TCP server machinery on first use, several milliseconds that are paid here instead.
  const server = await serveHttp1(() => ({ status: 200, body: '' }), { port: 0, maxBodyBytes: 0 });
  await server.close();
  const message = await assigned;
  process.off('disconnect', orphaned);
  if (!isAssignment(message)) throw new Error(`standby: expected {"environment": {name: value}} from the emulator, got ${JSON.stringify(message).slice(0, 200)}`);
  // The assignment is the whole environment the container would have been started with.
  for (const name of Object.keys(process.env)) if (!(name in message.environment)) delete process.env[name];
  for (const [name, value] of Object.entries(message.environment)) process.env[name] = value;
  // From here on the process is an ordinary container: no channel, watched by its parent like any other.
  process.disconnect();
}

