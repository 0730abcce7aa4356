/**
 * `npm run demo`: the project's main job, offline. Trains small Iris models, starts the local stack
 * in-process on free ports, and runs the flows against it with the same code that deploys to AWS.
 * Exits 0 only when every step verified its result; otherwise non-zero, naming the failed step.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDynamoDocumentClient, createS3Client } from '../aws/clients';
import { DynamoRegistry } from '../multimodel/registry';
import { startLocalStack, type LocalStack } from '../local/stack';
import { splitIris, trainIrisModel, type DemoModel, type IrisSplit } from './iris-models';
import { registrationSteps } from './registration-demo';
import { check, DemoRun, DemoStepFailedError } from './steps';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENDPOINT = 'iris-mme';
/** Accuracy each model must reach on the held-out rows; sepal measurements alone separate Iris less well. */
const ACCURACY_FLOORS: Record<string, number> = { 'iris-petal': 0.9, 'iris-all': 0.9, 'iris-sepal': 0.7 };
/** The local clock runs 100× faster than AWS's (DESIGN.md §3), so waits and retries take seconds. */
const TIME_SCALE = 0.01;

export async function runDemo(print: (line: string) => void): Promise<DemoRun> {
  const run = new DemoRun(print);
  let stack: LocalStack | undefined;
  let split: IrisSplit | undefined;
  const models: DemoModel[] = [];
  try {
    await run.step('Train Iris classifiers and package them as model.tar.gz', async (progress) => {
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
        progress(`${name.padEnd(12)} features ${JSON.stringify(features).padEnd(10)} held-out accuracy ${model.heldOutAccuracy.toFixed(3)} (floor ${floor}), ${model.archive.length} bytes`);
        models.push(model);
      }
      return { verified: `${models.length} models trained on ${split.train.rows.length} rows, each above its accuracy floor on ${split.test.rows.length} held-out rows` };
    });

    await run.step('Start the local stack (S3, DynamoDB, SQS, SageMaker, the Lambda handler)', async (progress) => {
      // The handler logs every record at INFO, as it should on AWS; here the steps print what matters, so
      // only its errors are shown (Powertools reads POWERTOOLS_LOG_LEVEL before serverless.yml's LOG_LEVEL).
      process.env.POWERTOOLS_LOG_LEVEL ??= 'ERROR';
      stack = await startLocalStack({
        ephemeral: true,
        port: 0,
        timeScale: TIME_SCALE,
        serverlessYml: join(repoRoot, 'serverless.yml'),
        log: (line) => progress(line),
      });
      progress(`edge at ${stack.url}; bucket ${stack.names.bucket}; registry ${stack.names.registryTable}`);
      return { verified: `services answering: ${stack.services().join(', ')}` };
    });

    const endpoint = stack!.url;
    const local = { endpoint, region: stack!.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    await registrationSteps(run, {
      s3: createS3Client(local),
      registry: new DynamoRegistry(createDynamoDocumentClient(local), stack!.names.registryTable),
      bucket: stack!.names.bucket,
      endpoint: ENDPOINT,
      split: split!,
      models,
      timeoutSeconds: 60,
    });
  } finally {
    await stack?.close();
  }
  return run;
}

const isEntryPoint = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isEntryPoint) {
  const print = (line: string) => process.stdout.write(`${line}\n`);
  let run: DemoRun | undefined;
  runDemo(print)
    .then((finished) => {
      run = finished;
      print(`\nSummary\n${run.summary()}\n\nAll steps verified.`);
    })
    .catch((error: unknown) => {
      if (error instanceof DemoStepFailedError) {
        print(`\nThe demo failed at step "${error.step}".`);
        process.exitCode = 1;
        return;
      }
      print(`\nThe demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exitCode = 1;
    });
}
