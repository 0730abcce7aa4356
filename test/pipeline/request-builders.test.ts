import { describe, expect, it } from 'vitest';
import { buildEndpointConfigRequest } from '../../src/pipeline/endpoint-configs';
import { buildModelFromPackageRequest, buildMultiModelRequest, buildPipelineModelRequest } from '../../src/pipeline/models';
import { buildCreateModelPackageGroupRequest, buildCreateModelPackageRequest } from '../../src/pipeline/model-packages';
import { buildTags } from '../../src/pipeline/tags';
import { InvalidS3UriError, buildTransformJobRequest, datedOutputPath, parseS3Uri } from '../../src/pipeline/transform-jobs';
import { operationInputSchema, shapeProblems } from '../statemachines/sdk-request-shapes';
import { parseWorkflowInput } from '../../src/workflows/workflow-schemas';
import { FULL_INPUTS, ROLE_ARN } from '../workflows/sample-inputs';

const settings = { modelName: 'iris-abc', executionRoleArn: ROLE_ARN };

describe('Function: buildPipelineModelRequest', () => {
  it('lists the containers in order with the execution mode, matching CreateModel', () => {
    // Prepare
    const containers = [
      { image: 'scaler:1', modelDataUrl: 's3://b/scaler.tar.gz', environment: { A: '1' }, containerHostname: 'scaler' },
      { image: 'classifier:1' },
    ];

    // Act
    const request = buildPipelineModelRequest(
      { ...settings, vpcConfig: { subnets: ['subnet-1'], securityGroupIds: ['sg-1'] }, enableNetworkIsolation: true, tags: { b: '2', a: '1' } },
      containers,
      'Direct',
    );

    // Assess
    expect(shapeProblems(request, operationInputSchema('sagemaker', 'createModel'))).toEqual([]);
    expect(request.Containers).toEqual([
      { Image: 'scaler:1', ModelDataUrl: 's3://b/scaler.tar.gz', Environment: { A: '1' }, ContainerHostname: 'scaler' },
      { Image: 'classifier:1' },
    ]);
    expect(request.InferenceExecutionConfig).toEqual({ Mode: 'Direct' });
    expect(request.VpcConfig).toEqual({ Subnets: ['subnet-1'], SecurityGroupIds: ['sg-1'] });
    expect(request.Tags).toEqual([{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }]);
  });

  it('leaves unset options out rather than null', () => {
    // Act
    const request = buildPipelineModelRequest(settings, [{ image: 'a' }, { image: 'b' }], 'Serial');

    // Assess
    expect(Object.keys(request).sort()).toEqual(['Containers', 'ExecutionRoleArn', 'InferenceExecutionConfig', 'ModelName', 'Tags']);
  });
});

describe('Function: buildModelFromPackageRequest', () => {
  it('names the package as the primary container', () => {
    // Act
    const request = buildModelFromPackageRequest(settings, 'arn:aws:sagemaker:us-east-1:123456789012:model-package/iris/3');

    // Assess
    expect(shapeProblems(request, operationInputSchema('sagemaker', 'createModel'))).toEqual([]);
    expect(request.PrimaryContainer).toEqual({ ModelPackageName: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/iris/3' });
    expect(request.Containers).toBeUndefined();
  });
});

describe('Function: buildMultiModelRequest', () => {
  it('makes a MultiModel container over the model data prefix', () => {
    // Act
    const request = buildMultiModelRequest(settings, { image: 'onnx:1', modelDataUrl: 's3://b/models/iris/' });

    // Assess
    expect(shapeProblems(request, operationInputSchema('sagemaker', 'createModel'))).toEqual([]);
    expect(request.PrimaryContainer).toEqual({ Image: 'onnx:1', ModelDataUrl: 's3://b/models/iris/', Mode: 'MultiModel' });
  });
});

describe('Function: buildEndpointConfigRequest', () => {
  it('carries every variant setting, data capture and the KMS key, matching CreateEndpointConfig', () => {
    // Act
    const request = buildEndpointConfigRequest({
      endpointConfigName: 'iris-cfg',
      modelName: 'iris-abc',
      variant: {
        instanceType: 'ml.m5.large',
        initialInstanceCount: 2,
        volumeSizeInGB: 20,
        modelDataDownloadTimeoutInSeconds: 600,
        containerStartupHealthCheckTimeoutInSeconds: 300,
      },
      dataCapture: {
        destinationS3Uri: 's3://b/capture/',
        initialSamplingPercentage: 50,
        captureModes: ['Input', 'Output'],
        kmsKeyId: 'alias/capture',
        csvContentTypes: ['text/csv'],
      },
      kmsKeyId: 'alias/volume',
      tags: { team: 'ml' },
    });

    // Assess
    expect(shapeProblems(request, operationInputSchema('sagemaker', 'createEndpointConfig'))).toEqual([]);
    expect(request.ProductionVariants).toEqual([
      {
        VariantName: 'AllTraffic',
        ModelName: 'iris-abc',
        InitialInstanceCount: 2,
        InstanceType: 'ml.m5.large',
        InitialVariantWeight: 1,
        VolumeSizeInGB: 20,
        ModelDataDownloadTimeoutInSeconds: 600,
        ContainerStartupHealthCheckTimeoutInSeconds: 300,
      },
    ]);
    expect(request.DataCaptureConfig).toEqual({
      EnableCapture: true,
      InitialSamplingPercentage: 50,
      DestinationS3Uri: 's3://b/capture/',
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      KmsKeyId: 'alias/capture',
      CaptureContentTypeHeader: { CsvContentTypes: ['text/csv'] },
    });
    expect(request.KmsKeyId).toBe('alias/volume');
  });
});

describe('Function: buildCreateModelPackageRequest', () => {
  it('maps every field of register() onto CreateModelPackage', () => {
    // Prepare
    const input = parseWorkflowInput('register-model-package', FULL_INPUTS['register-model-package']);

    // Act
    const request = buildCreateModelPackageRequest(input);

    // Assess
    expect(shapeProblems(request, operationInputSchema('sagemaker', 'createModelPackage'))).toEqual([]);
    expect(request.InferenceSpecification?.Containers?.[1]).toEqual({
      Image: 'smhost/onnx:latest',
      ModelDataUrl: 's3://smhost-dev-artifacts-123456789012/pipelines/classifier.tar.gz',
      ModelInput: { DataInputConfig: '{"input":[1,4]}' },
      Framework: 'ONNX',
      FrameworkVersion: '1.17',
      NearestModelName: 'xgboost',
    });
    expect(request.InferenceSpecification?.SupportedRealtimeInferenceInstanceTypes).toEqual(['ml.m5.large', 'ml.c5.xlarge']);
    expect(request.ModelApprovalStatus).toBe('Approved');
    expect(request.ModelMetrics?.Bias?.PostTrainingReport?.S3Uri).toMatch(/bias-post\.json$/);
    expect(request.DriftCheckBaselines?.Explainability?.ConfigFile).toEqual({ S3Uri: 's3://smhost-dev-artifacts-123456789012/drift/shap.json' });
    expect(request.MetadataProperties).toEqual({ CommitId: 'abc123', Repository: 'git@example.org:ml/iris.git', GeneratedBy: 'ci', ProjectId: 'iris' });
    expect(request).toMatchObject({
      ModelPackageGroupName: 'iris',
      CustomerMetadataProperties: { owner: 'ml-team' },
      CertifyForMarketplace: false,
      Domain: 'MACHINE_LEARNING',
      Task: 'CLASSIFICATION',
      SkipModelValidation: 'None',
      SamplePayloadUrl: 's3://smhost-dev-artifacts-123456789012/samples/payload.tar.gz',
    });
  });

  it('omits metric structures that hold nothing', () => {
    // Act
    const request = buildCreateModelPackageRequest({
      modelPackageName: 'iris-unversioned',
      containers: [{ image: 'a' }],
      contentTypes: ['text/csv'],
      responseTypes: ['text/csv'],
      approvalStatus: 'PendingManualApproval',
      modelMetrics: { bias: {} },
      driftCheckBaselines: {},
    });

    // Assess
    expect(request.ModelMetrics).toBeUndefined();
    expect(request.DriftCheckBaselines).toBeUndefined();
    expect(request.ModelPackageName).toBe('iris-unversioned');
    expect(shapeProblems(request, operationInputSchema('sagemaker', 'createModelPackage'))).toEqual([]);
  });
});

describe('Function: buildCreateModelPackageGroupRequest', () => {
  it('matches CreateModelPackageGroup', () => {
    // Act
    const request = buildCreateModelPackageGroupRequest('iris', 'Iris models', { team: 'ml' });

    // Assess
    expect(shapeProblems(request, operationInputSchema('sagemaker', 'createModelPackageGroup'))).toEqual([]);
    expect(request).toEqual({ ModelPackageGroupName: 'iris', ModelPackageGroupDescription: 'Iris models', Tags: [{ Key: 'team', Value: 'ml' }] });
  });
});

describe('Function: buildTransformJobRequest', () => {
  it('carries every transformer() and transform() option, matching CreateTransformJob', () => {
    // Act
    const request = buildTransformJobRequest({
      transformJobName: 'job-1',
      modelName: 'iris',
      input: { s3Uri: 's3://b/in/', s3DataType: 'S3Prefix', contentType: 'text/csv', splitType: 'Line', compressionType: 'Gzip' },
      output: { s3OutputPath: 's3://b/out/', accept: 'text/csv', assembleWith: 'Line', kmsKeyId: 'alias/out' },
      instanceType: 'ml.m5.large',
      instanceCount: 2,
      volumeKmsKeyId: 'alias/vol',
      strategy: 'SingleRecord',
      environment: { A: '1' },
      maxConcurrentTransforms: 4,
      maxPayloadInMB: 6,
      dataProcessing: { inputFilter: '$[1:]', outputFilter: '$', joinSource: 'Input' },
      modelClient: { invocationsTimeoutInSeconds: 60, invocationsMaxRetries: 1 },
      tags: { team: 'ml' },
    });

    // Assess
    expect(shapeProblems(request, operationInputSchema('sagemaker', 'createTransformJob'))).toEqual([]);
    expect(request).toMatchObject({
      BatchStrategy: 'SingleRecord',
      MaxConcurrentTransforms: 4,
      MaxPayloadInMB: 6,
      TransformInput: { DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://b/in/' } }, ContentType: 'text/csv', SplitType: 'Line', CompressionType: 'Gzip' },
      TransformOutput: { S3OutputPath: 's3://b/out/', Accept: 'text/csv', AssembleWith: 'Line', KmsKeyId: 'alias/out' },
      TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 2, VolumeKmsKeyId: 'alias/vol' },
      DataProcessing: { InputFilter: '$[1:]', OutputFilter: '$', JoinSource: 'Input' },
      ModelClientConfig: { InvocationsTimeoutInSeconds: 60, InvocationsMaxRetries: 1 },
    });
  });
});

describe('Function: datedOutputPath', () => {
  it('appends the scheduled time as one segment, with or without a trailing slash', () => {
    // Prepare
    const time = new Date('2024-05-01T09:30:00Z');

    // Act / Assess
    expect(datedOutputPath('s3://b/out', time)).toBe('s3://b/out/2024-05-01T09-30-00Z/');
    expect(datedOutputPath('s3://b/out/', time)).toBe('s3://b/out/2024-05-01T09-30-00Z/');
  });
});

describe('Function: parseS3Uri', () => {
  it('splits bucket and key, and refuses other URIs', () => {
    // Act / Assess
    expect(parseS3Uri('s3://bucket/a/b/')).toEqual({ bucket: 'bucket', key: 'a/b/' });
    expect(parseS3Uri('s3://bucket')).toEqual({ bucket: 'bucket', key: '' });
    expect(() => parseS3Uri('https://bucket/a')).toThrow(InvalidS3UriError);
  });
});

describe('Function: buildTags', () => {
  it('sorts by key and accepts no tags', () => {
    // Act / Assess
    expect(buildTags({ z: '1', a: '2' })).toEqual([{ Key: 'a', Value: '2' }, { Key: 'z', Value: '1' }]);
    expect(buildTags(undefined)).toEqual([]);
  });
});
