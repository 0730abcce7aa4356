import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddTagsCommand,
  CreateModelCommand,
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  DeleteTagsCommand,
  ListTagsCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { errorName, httpStatus } from '../../../src/aws/errors';
import { ONNX_IMAGE, ROLE, startStack, type TestStack } from './support';

let stack: TestStack;
let modelArn: string;
const container = { Image: ONNX_IMAGE, ModelDataUrl: 's3://models/a/model.tar.gz' };

beforeAll(async () => {
  // The control plane alone: no endpoint, so no container process.
  stack = await startStack();
  ({ ModelArn: modelArn } = (await stack.sagemaker.send(
    new CreateModelCommand({ ModelName: 'Tagged-Model', ExecutionRoleArn: ROLE, PrimaryContainer: container, Tags: [{ Key: 'team', Value: 'a' }] }),
  )) as { ModelArn: string });
});

afterAll(async () => {
  await stack?.stop();
});

async function tags(sagemaker: SageMakerClient, arn: string) {
  return (await sagemaker.send(new ListTagsCommand({ ResourceArn: arn }))).Tags;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

describe('Function: AddTags, ListTags and DeleteTags (SageMaker emulator)', () => {
  it('lists the tags given at creation, adds and replaces by key, and deletes by key', async () => {
    // Act
    const atCreation = await tags(stack.sagemaker, modelArn);
    await stack.sagemaker.send(new AddTagsCommand({ ResourceArn: modelArn, Tags: [{ Key: 'team', Value: 'b' }, { Key: 'cost-centre', Value: '42' }] }));
    const afterAdd = await tags(stack.sagemaker, modelArn);
    await stack.sagemaker.send(new DeleteTagsCommand({ ResourceArn: modelArn, TagKeys: ['team', 'not-there'] }));
    const afterDelete = await tags(stack.sagemaker, modelArn);

    // Assess
    expect(atCreation).toEqual([{ Key: 'team', Value: 'a' }]);
    expect(afterAdd).toEqual([{ Key: 'team', Value: 'b' }, { Key: 'cost-centre', Value: '42' }]);
    expect(afterDelete).toEqual([{ Key: 'cost-centre', Value: '42' }]);
  });

  it('finds a versioned model package by its ARN, and an ARN that keeps the name upper case', async () => {
    // Prepare
    await stack.sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: 'tagged-group' }));
    const { ModelPackageArn: packageArn } = await stack.sagemaker.send(
      new CreateModelPackageCommand({
        ModelPackageGroupName: 'tagged-group',
        InferenceSpecification: { Containers: [{ Image: ONNX_IMAGE }], SupportedContentTypes: ['text/csv'], SupportedResponseMIMETypes: ['text/csv'] },
        Tags: [{ Key: 'stage', Value: 'qa' }],
      }),
    );

    // Act
    await stack.sagemaker.send(new AddTagsCommand({ ResourceArn: packageArn!, Tags: [{ Key: 'approved-by', Value: 'ci' }] }));

    // Assess
    expect(packageArn).toMatch(/:model-package\/tagged-group\/1$/);
    expect(await tags(stack.sagemaker, packageArn!)).toEqual([{ Key: 'stage', Value: 'qa' }, { Key: 'approved-by', Value: 'ci' }]);
    expect(await tags(stack.sagemaker, modelArn.replace('tagged-model', 'Tagged-Model'))).toEqual([{ Key: 'cost-centre', Value: '42' }]);
  });

  it('pages with MaxResults and NextToken', async () => {
    // Prepare
    const many = Array.from({ length: 12 }, (_, i) => ({ Key: `k${i}`, Value: String(i) }));
    const { ModelArn: arn } = await stack.sagemaker.send(new CreateModelCommand({ ModelName: 'many-tags', ExecutionRoleArn: ROLE, PrimaryContainer: container, Tags: many }));

    // Act
    const all = await tags(stack.sagemaker, arn!);
    const first = await stack.sagemaker.send(new ListTagsCommand({ ResourceArn: arn!, MaxResults: 5 }));
    const second = await stack.sagemaker.send(new ListTagsCommand({ ResourceArn: arn!, MaxResults: 5, NextToken: first.NextToken }));

    // Assess
    expect(all).toEqual(many);
    expect(first.Tags).toEqual(many.slice(0, 5));
    expect(second.Tags).toEqual(many.slice(5, 10));
  });

  it('refuses an unknown resource, a malformed ARN and more than 50 tags, with ValidationException', async () => {
    // Prepare
    const missing = modelArn.replace('tagged-model', 'no-such-model');
    const tooMany = Array.from({ length: 50 }, (_, i) => ({ Key: `t${i}`, Value: 'x' }));

    // Act
    const errors = [
      await failure(stack.sagemaker.send(new ListTagsCommand({ ResourceArn: missing }))),
      await failure(stack.sagemaker.send(new ListTagsCommand({ ResourceArn: 'model/tagged-model' }))),
      await failure(stack.sagemaker.send(new AddTagsCommand({ ResourceArn: modelArn, Tags: tooMany }))),
    ];

    // Assess
    expect(errors.map(errorName)).toEqual(['ValidationException', 'ValidationException', 'ValidationException']);
    expect(errors.map(httpStatus)).toEqual([400, 400, 400]);
    expect((errors[0] as Error).message).toBe(`Resource ${missing} not found.`);
    expect((errors[1] as Error).message).toMatch(/resourceArn.*arn:aws\[a-z-\]\*:sagemaker/);
    expect((errors[2] as Error).message).toMatch(/at most 50 tags; .* would have 51/);
    expect(await tags(stack.sagemaker, modelArn)).toEqual([{ Key: 'cost-centre', Value: '42' }]);
  });
});
