/**
 * The multi-model part of the demo: an endpoint deployed by its state machine, artifacts dropped into
 * the local stack's S3 and registered and warmed up by the real Lambda handler behind the real queue,
 * each served through its `TargetModel` with the same answers as onnxruntime run directly, hostile uploads
 * refused and kept, a new version beside the old file, and a roll-back by upload.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, GetObjectTaggingCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DescribeEndpointCommand, DescribeModelCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { addModel } from '../cli/models/add';
import type { Registry, UploadOutcome } from '../multimodel/registry';
import { resolveTargetModel } from '../multimodel/resolve-target-model';
import { refusedUploads, selectColumns, trainIrisModel, type DemoModel, type IrisSplit } from './iris-models';
import { accuracy, predictDirect } from './onnx-reference';
import { check, type DemoRun } from './steps';
import { runWorkflow } from './workflows';

export interface MultiModelDemoContext {
  s3: S3Client;
  sagemaker: SageMakerClient;
  runtime: SageMakerRuntimeClient;
  sfn: SFNClient;
  registry: Registry;
  bucket: string;
  /** `<service>-<stage>`, the prefix of the state machines' names. */
  stackPrefix: string;
  endpoint: string;
  image: string;
  split: IrisSplit;
  models: DemoModel[];
  accuracyFloors: Record<string, number>;
  /** Seconds to wait for each registration outcome. */
  timeoutSeconds: number;
}

async function bodyBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

/** Uploads one archive through the command line's library and waits for its registration outcome. */
async function drop(ctx: MultiModelDemoContext, dir: string, model: string, archive: Buffer, sample?: unknown): Promise<UploadOutcome> {
  const file = join(dir, `${model}.tar.gz`);
  await writeFile(file, archive);
  let samplePath: string | undefined;
  if (sample !== undefined) {
    samplePath = join(dir, `${model}.sample.json`);
    await writeFile(samplePath, JSON.stringify(sample));
  }
  const result = await addModel(
    { s3: ctx.s3, registry: ctx.registry, bucket: ctx.bucket },
    { endpoint: ctx.endpoint, model, source: { kind: 'file', path: file }, samplePath, timeoutMs: ctx.timeoutSeconds * 1000 },
  );
  check(result.outcome, `no registration outcome for ${result.key}`);
  return result.outcome;
}

/** Invokes a model by name, resolved to its current version's `TargetModel` as `smhost models invoke` does. */
async function invokeByName(ctx: MultiModelDemoContext, model: string, rows: number[][]): Promise<{ labels: number[]; targetModel: string }> {
  const { targetModel } = await resolveTargetModel(ctx.registry, { endpoint: ctx.endpoint, model });
  const answer = await ctx.runtime.send(
    new InvokeEndpointCommand({
      EndpointName: ctx.endpoint,
      TargetModel: targetModel,
      ContentType: 'application/json',
      Accept: 'application/json',
      Body: Buffer.from(JSON.stringify({ instances: rows })),
    }),
  );
  const body = JSON.parse(Buffer.from(answer.Body!).toString('utf8')) as { predictions: number[] };
  return { labels: body.predictions.map(Number), targetModel };
}

export async function multiModelSteps(run: DemoRun, ctx: MultiModelDemoContext): Promise<void> {
  await run.step(`Deploy multi-model endpoint ${ctx.endpoint} with deploy-multi-model-endpoint`, async (progress) => {
    const output = await runWorkflow(
      ctx.sfn,
      `${ctx.stackPrefix}-deploy-multi-model-endpoint`,
      { endpointName: ctx.endpoint, image: ctx.image, instanceType: 'ml.m5.large' },
      progress,
    );
    const endpoint = await ctx.sagemaker.send(new DescribeEndpointCommand({ EndpointName: ctx.endpoint }));
    check(endpoint.EndpointStatus === 'InService', `endpoint is ${endpoint.EndpointStatus}`);
    const model = await ctx.sagemaker.send(new DescribeModelCommand({ ModelName: output.modelName }));
    const container = model.PrimaryContainer;
    check(container?.Mode === 'MultiModel', `model ${output.modelName} is not a MultiModel model`);
    check(container.ModelDataUrl === `s3://${ctx.bucket}/models/${ctx.endpoint}/`, `ModelDataUrl is ${container.ModelDataUrl}`);
    return { verified: `InService; model ${output.modelName} serves ${container.ModelDataUrl}` };
  });

  const dir = await mkdtemp(join(tmpdir(), 'smhost-demo-'));
  const firstVersions = new Map<string, string>();
  try {
    await run.step(`Drop ${ctx.models.length} artifacts into incoming/${ctx.endpoint}/`, async (progress) => {
      for (const model of ctx.models) {
        const outcome = await drop(ctx, dir, model.name, model.archive, model.sample);
        check(outcome.outcome === 'registered', `${model.name}: expected registered, got ${outcome.outcome} (${outcome.reason ?? ''})`);
        check(outcome.current, `${model.name}: version ${outcome.version} is not current`);
        check(outcome.versionStatus === 'verified', `${model.name}: warm-up did not verify the version (${outcome.versionStatus}: ${outcome.reason ?? ''})`);
        const live = await bodyBytes(ctx.s3, ctx.bucket, `models/${ctx.endpoint}/${outcome.targetModel}`);
        check(live.equals(model.archive), `${model.name}: the live copy's bytes differ from the upload`);
        firstVersions.set(model.name, outcome.version!);
        progress(`${model.name.padEnd(12)} → version ${outcome.version}, warmed up (${outcome.versionStatus}), TargetModel ${outcome.targetModel}`);
      }
      return { verified: `${ctx.models.length} registered, current and warmed up; each live copy is byte-identical to its upload` };
    });

    await run.step('Invoke each model through its TargetModel on held-out rows', async (progress) => {
      for (const model of ctx.models) {
        const rows = selectColumns(ctx.split.test.rows, model.features);
        const served = await invokeByName(ctx, model.name, rows);
        const direct = await predictDirect(model.onnx, rows);
        check(JSON.stringify(served.labels) === JSON.stringify(direct), `${model.name}: the endpoint's answers differ from onnxruntime run directly`);
        const score = accuracy(served.labels, ctx.split.test.labels);
        const floor = ctx.accuracyFloors[model.name]!;
        check(score >= floor, `${model.name}: accuracy ${score.toFixed(3)} is below ${floor}`);
        progress(`${model.name.padEnd(12)} ${served.targetModel}: ${rows.length} rows, same answers as onnxruntime, accuracy ${score.toFixed(3)} (floor ${floor})`);
      }
      return { verified: `${ctx.models.length} models answer exactly as onnxruntime does, each above its accuracy floor` };
    });

    await run.step('Refuse hostile uploads, and keep them', async (progress) => {
      const refused = await refusedUploads();
      for (const upload of refused) {
        const outcome = await drop(ctx, dir, upload.model, upload.body);
        check(outcome.outcome === 'rejected', `${upload.what}: expected rejected, got ${outcome.outcome}`);
        check(outcome.rule === upload.rule, `${upload.what}: expected rule ${upload.rule}, got ${outcome.rule}`);
        const key = `incoming/${ctx.endpoint}/${upload.model}.tar.gz`;
        const kept = await bodyBytes(ctx.s3, ctx.bucket, key);
        check(kept.equals(upload.body), `${key} was changed by its refusal`);
        const tags = await ctx.s3.send(new GetObjectTaggingCommand({ Bucket: ctx.bucket, Key: key }));
        check(tags.TagSet?.some((t) => t.Key === 'smhost:status' && t.Value === 'rejected'), `${key} is not tagged as rejected`);
        const live = await ctx.s3.send(new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: `models/${ctx.endpoint}/${upload.model}/` }));
        check((live.KeyCount ?? 0) === 0, `a live copy was written for refused ${key}`);
        progress(`${upload.what.padEnd(44)} → ${outcome.reason}`);
      }
      return { verified: `${refused.length} refused with the right rule; each kept byte-identical, tagged, nothing published` };
    });

    const updated = ctx.models[0]!;
    await run.step(`Drop a new version of ${updated.name}`, async (progress) => {
      const retrained = await trainIrisModel(updated.name, updated.features, ctx.split, 1500);
      const outcome = await drop(ctx, dir, updated.name, retrained.archive, retrained.sample);
      const oldVersion = firstVersions.get(updated.name)!;
      check(outcome.outcome === 'registered' && outcome.current, `the new version is not current (${outcome.outcome})`);
      check(outcome.version !== oldVersion, 'new content got the old version');
      const oldLive = await bodyBytes(ctx.s3, ctx.bucket, `models/${ctx.endpoint}/${updated.name}/${oldVersion}.tar.gz`);
      check(oldLive.equals(updated.archive), 'the old version was overwritten');
      const rows = selectColumns(ctx.split.test.rows, updated.features);
      const served = await invokeByName(ctx, updated.name, rows);
      check(served.targetModel === outcome.targetModel, `the model resolves to ${served.targetModel}, not the new ${outcome.targetModel}`);
      const direct = await predictDirect(retrained.onnx, rows);
      check(JSON.stringify(served.labels) === JSON.stringify(direct), 'the new version does not answer as its graph does');
      progress(`${updated.name}: ${oldVersion} → ${outcome.version}; the old file is still there, unchanged; ${served.targetModel} answers`);
      return { verified: `version ${outcome.version} is current and answers as its graph; version ${oldVersion} kept byte-identical` };
    });

    await run.step(`Roll back ${updated.name} by uploading the old content`, async (progress) => {
      const oldVersion = firstVersions.get(updated.name)!;
      const outcome = await drop(ctx, dir, updated.name, updated.archive, updated.sample);
      check(outcome.version === oldVersion, `expected version ${oldVersion}, got ${outcome.version}`);
      const model = await ctx.registry.getModel(ctx.endpoint, updated.name);
      check(model?.currentVersion === oldVersion, `current is ${model?.currentVersion}, expected ${oldVersion}`);
      const versions = await ctx.registry.listVersions(ctx.endpoint, updated.name);
      check(versions.length === 2, `expected 2 versions, found ${versions.length}`);
      progress(`${updated.name}: current is ${oldVersion} again; 2 versions on record, nothing new registered`);
      return { verified: `version ${oldVersion} current again, no third version` };
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
