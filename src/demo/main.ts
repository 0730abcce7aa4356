/**
 * `npm run demo`: the project's main job, offline. Trains small Iris models, starts the local stack
 * in-process on free ports, and runs the whole mission against it with the same code that deploys to AWS:
 * a multi-model endpoint fed by S3 drops, a serial pipeline deployed and registered, a batch transform.
 * Exits 0 only when every step verified its result; otherwise non-zero, naming the failed step.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClients, createDynamoDocumentClient } from '../aws/clients';
import { DynamoRegistry } from '../multimodel/registry';
import { BUILTIN_ONNX_IMAGE } from '../local/sagemaker';
import { startLocalStack, type LocalStack } from '../local/stack';
import { splitIris, trainIrisModel, trainPipelineModels, type DemoModel, type IrisSplit, type PipelineModels } from './iris-models';
import { multiModelSteps } from './multi-model-demo';
import { pipelineSteps } from './pipeline-demo';
import { check, DemoRun, DemoStepFailedError } from './steps';
import { isEntryPoint } from './entry-point';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Accuracy each model must reach on the held-out rows; sepal measurements alone separate Iris less well. */
const ACCURACY_FLOORS: Record<string, number> = { 'iris-petal': 0.9, 'iris-all': 0.9, 'iris-sepal': 0.7 };
const PIPELINE_ACCURACY_FLOOR = 0.9;
/** The local clock runs 100× faster than AWS's (DESIGN.md §3): 30-second polls take 0.3 s. */
const TIME_SCALE = 0.01;

export interface DemoHooks {
  /** Called once the local stack is up, so an interrupted demo can still close it. */
  stackStarted?: (stack: LocalStack) => void;
}

export async function runDemo(print: (line: string) => void, hooks: DemoHooks = {}): Promise<DemoRun> {
  const run = new DemoRun(print);
  let stack: LocalStack | undefined;
  let split: IrisSplit | undefined;
  let pipeline: PipelineModels | undefined;
  const models: DemoModel[] = [];
  try {
    await run.step('Train Iris models and package them as model.tar.gz', async (progress) => {
      split = splitIris();
      const specs: Array<[string, number[]]> = [
        ['iris-petal', [2, 3]],
        ['iris-all', [0, 1, 2, 3]],
        ['iris-sepal', [0, 1]],
      ];
      for (const [name, features] of specs) {
        const model = await trainIrisModel(name, features, split);
        const floor = ACCURACY_FLOORS[name]!;
        check(model.heldOutAccuracy >= floor, `${name}: held-out accuracy ${model.heldOutAccuracy.toFixed(3)} is below ${floor}`);
        progress(`${name.padEnd(12)} features ${JSON.stringify(features).padEnd(10)} held-out accuracy ${model.heldOutAccuracy.toFixed(3)}, ${model.archive.length} bytes`);
        models.push(model);
      }
      pipeline = await trainPipelineModels(split);
      progress(`pipeline     scaler ${pipeline.scaler.archive.length} B → classifier ${pipeline.classifier.archive.length} B → label decoder ${pipeline.decoder.archive.length} B`);
      return { verified: `${models.length} classifiers and a 3-stage pipeline trained on ${split.train.rows.length} rows; ${split.test.rows.length} rows held out` };
    });

    await run.step('Start the local stack (S3, DynamoDB, SQS, SageMaker, Step Functions, the Lambdas)', async (progress) => {
      // The handlers log every record at INFO, as they should on AWS; here the steps print what matters, so
      // only their errors are shown (Powertools reads POWERTOOLS_LOG_LEVEL before serverless.yml's LOG_LEVEL).
      process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
      stack = await startLocalStack({
        ephemeral: true,
        port: 0,
        timeScale: TIME_SCALE,
        serverlessYml: join(repoRoot, 'serverless.yml'),
        log: (line) => {
          if (!/^(created|applied|state machine .* registered|serverless\.yml: .*versioning)/.test(line)) progress(line);
        },
      });
      hooks.stackStarted?.(stack);
      progress(`edge at ${stack.url}; bucket ${stack.names.bucket}; time scale ${TIME_SCALE} (30 s on AWS = ${30 * TIME_SCALE} s here)`);
      return { verified: `services answering: ${stack.services().join(', ')}` };
    });

    const local = { endpoint: stack!.url, region: stack!.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    const clients = createClients(local);
    const stackPrefix = `${stack!.names.service}-${stack!.names.stage}`;
    const common = {
      s3: clients.s3,
      sagemaker: clients.sagemaker,
      runtime: clients.sagemakerRuntime,
      sfn: clients.sfn,
      bucket: stack!.names.bucket,
      stackPrefix,
      image: `${BUILTIN_ONNX_IMAGE}:1`,
      split: split!,
    };
    await multiModelSteps(run, {
      ...common,
      registry: new DynamoRegistry(createDynamoDocumentClient(local), stack!.names.registryTable),
      endpoint: 'iris-mme',
      models,
      accuracyFloors: ACCURACY_FLOORS,
      timeoutSeconds: 60,
    });
    await pipelineSteps(run, { ...common, endpoint: 'iris-pipeline', models: pipeline!, accuracyFloor: PIPELINE_ACCURACY_FLOOR });
  } finally {
    await stack?.close();
  }
  return run;
}

if (isEntryPoint(import.meta.url)) {
  const print = (line: string) => process.stdout.write(`${line}\n`);
  const started = performance.now();
  let stack: LocalStack | undefined;
  // Ctrl-C mid-run: stop the stack (its containers, its ephemeral data dir) rather than leave them behind.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      print(`\n${signal}: the demo was interrupted; stopping the local stack`);
      void (stack?.close() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }
  runDemo(print, { stackStarted: (started) => (stack = started) })
    .then((run) => {
      print(`\nSummary\n${run.summary()}\n\nAll ${run.records.length} steps verified in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
    })
    .catch((error: unknown) => {
      if (error instanceof DemoStepFailedError) {
        print(`\nThe demo failed at step "${error.step}".`);
      } else {
        print(`\nThe demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
      process.exitCode = 1;
    });
}
