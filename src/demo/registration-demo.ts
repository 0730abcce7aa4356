/**
 * The registration part of the demo: artifacts dropped into the local stack's S3 are validated and
 * registered by the real Lambda handler behind the real queue, hostile ones are refused and kept, a new
 * version never overwrites the old file, and uploading old content rolls back.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, GetObjectTaggingCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { addModel } from '../cli/models/add';
import type { Registry, UploadOutcome } from '../multimodel/registry';
import { refusedUploads, trainIrisModel, type DemoModel, type IrisSplit } from './iris-models';
import { check, type DemoRun } from './steps';

export interface RegistrationDemoContext {
  s3: S3Client;
  registry: Registry;
  bucket: string;
  endpoint: string;
  split: IrisSplit;
  models: DemoModel[];
  /** Seconds to wait for each registration outcome. */
  timeoutSeconds: number;
}

async function bodyBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

/** Uploads one archive through the command line's library and waits for its registration outcome. */
async function drop(ctx: RegistrationDemoContext, dir: string, model: string, archive: Buffer, sample?: unknown): Promise<UploadOutcome> {
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

export async function registrationSteps(run: DemoRun, ctx: RegistrationDemoContext): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'smhost-demo-'));
  const firstVersions = new Map<string, string>();
  try {
    await run.step(`Drop ${ctx.models.length} artifacts into incoming/${ctx.endpoint}/`, async (progress) => {
      for (const model of ctx.models) {
        const outcome = await drop(ctx, dir, model.name, model.archive, model.sample);
        check(outcome.outcome === 'registered', `${model.name}: expected registered, got ${outcome.outcome} (${outcome.reason ?? ''})`);
        check(outcome.current, `${model.name}: version ${outcome.version} is not current`);
        const live = await bodyBytes(ctx.s3, ctx.bucket, `models/${ctx.endpoint}/${outcome.targetModel}`);
        check(live.equals(model.archive), `${model.name}: the live copy's bytes differ from the upload`);
        firstVersions.set(model.name, outcome.version!);
        progress(`${model.name.padEnd(12)} → version ${outcome.version} (${outcome.versionStatus}), TargetModel ${outcome.targetModel}`);
      }
      return { verified: `${ctx.models.length} registered; each live copy is byte-identical to its upload` };
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
        const live = await ctx.s3.send(
          new ListObjectsV2Command({ Bucket: ctx.bucket, Prefix: `models/${ctx.endpoint}/${upload.model}/` }),
        );
        check((live.KeyCount ?? 0) === 0, `a live copy was written for refused ${key}`);
        progress(`${upload.what.padEnd(44)} → ${outcome.reason}`);
      }
      return { verified: `${refused.length} refused with the right rule; each kept byte-identical, tagged, nothing published` };
    });

    const updated = ctx.models[0]!;
    await run.step(`Upload a new version of ${updated.name}`, async (progress) => {
      const retrained = await trainIrisModel(updated.name, updated.features, ctx.split, 1500);
      const outcome = await drop(ctx, dir, updated.name, retrained.archive, retrained.sample);
      const oldVersion = firstVersions.get(updated.name)!;
      check(outcome.outcome === 'registered' && outcome.current, `the new version is not current (${outcome.outcome})`);
      check(outcome.version !== oldVersion, 'new content got the old version');
      const oldLive = await bodyBytes(ctx.s3, ctx.bucket, `models/${ctx.endpoint}/${updated.name}/${oldVersion}.tar.gz`);
      check(oldLive.equals(updated.archive), 'the old version was overwritten');
      await ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: `models/${ctx.endpoint}/${outcome.targetModel}` }));
      progress(`${updated.name}: ${oldVersion} → ${outcome.version} (current); the old file is still there, unchanged`);
      return { verified: `new version ${outcome.version} is current; version ${oldVersion} kept byte-identical` };
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
