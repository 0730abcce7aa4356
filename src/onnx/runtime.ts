/**
 * onnxruntime-node, as every process of the project that runs ONNX graphs loads it. Its 1.30 build starts a
 * telemetry SDK with the first session, which writes `$TMPDIR/mat-debug-<pid>.log` and never removes it:
 * thousands of files on a machine that runs the tests, and nothing an offline tool should do.
 * `ORT_DISABLE_TELEMETRY`, read when the first session is created (not when the module loads), turns it
 * off; a value the user set is kept.
 */
import * as ort from 'onnxruntime-node';

process.env.ORT_DISABLE_TELEMETRY ??= '1';

export { ort };
