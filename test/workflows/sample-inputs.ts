/** Workflow inputs the tests share: the smallest valid one of each workflow and one using every option. */
import type { WorkflowName } from '../../src/workflows/workflow-schemas';
import type { PrepareEnvironment } from '../../src/workflows/prepare-workflow';

export const ROLE_ARN = 'arn:aws:iam::123456789012:role/smhost-dev-sagemaker-execution';

export const TEST_ENVIRONMENT: PrepareEnvironment = {
  executionRoleArn: ROLE_ARN,
  artifactsBucket: 'smhost-dev-artifacts-123456789012',
  modelsPrefix: 'models/',
  registryTable: 'smhost-dev-registry',
};

export const EXECUTION = { name: 'ci-run-42', startTime: '2024-05-01T09:30:00.123Z' };

export const MINIMAL_INPUTS: Record<WorkflowName, Record<string, unknown>> = {
  'deploy-multi-model-endpoint': {
    endpointName: 'iris-mme',
    image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/smhost-onnx:latest',
    instanceType: 'ml.m5.large',
  },
  'deploy-pipeline-model': {
    endpointName: 'iris-pipeline',
    instanceType: 'ml.m5.large',
    containers: [
      { image: 'smhost/onnx:latest', modelDataUrl: 's3://smhost-dev-artifacts-123456789012/pipelines/scaler.tar.gz' },
      { image: 'smhost/onnx:latest', modelDataUrl: 's3://smhost-dev-artifacts-123456789012/pipelines/classifier.tar.gz' },
    ],
  },
  'register-model-package': {
    modelPackageGroupName: 'iris',
    containers: [{ image: 'smhost/onnx:latest', modelDataUrl: 's3://smhost-dev-artifacts-123456789012/pipelines/classifier.tar.gz' }],
    contentTypes: ['text/csv'],
    responseTypes: ['application/json'],
  },
  'batch-transform': {
    modelName: 'iris-pipeline-model',
    data: 's3://smhost-dev-artifacts-123456789012/batch/input/',
    outputPath: 's3://smhost-dev-artifacts-123456789012/batch/output',
    instanceType: 'ml.m5.large',
  },
};

const metrics = (name: string) => ({
  contentType: 'application/json',
  s3Uri: `s3://smhost-dev-artifacts-123456789012/metrics/${name}.json`,
});

export const FULL_INPUTS: Record<WorkflowName, Record<string, unknown>> = {
  'deploy-multi-model-endpoint': {
    ...MINIMAL_INPUTS['deploy-multi-model-endpoint'],
    executionRoleArn: 'arn:aws:iam::123456789012:role/other-role',
    environment: { SAGEMAKER_MODEL_SERVER_WORKERS: '2' },
    initialInstanceCount: 2,
    volumeSizeInGB: 30,
    modelDataDownloadTimeoutInSeconds: 600,
    containerStartupHealthCheckTimeoutInSeconds: 300,
    dataCapture: { destinationS3Uri: 's3://smhost-dev-artifacts-123456789012/capture/', initialSamplingPercentage: 20 },
    kmsKeyId: 'alias/smhost',
    vpcConfig: { subnets: ['subnet-0abc'], securityGroupIds: ['sg-0abc'] },
    enableNetworkIsolation: false,
    tags: { team: 'ml', 'cost-center': '42' },
    wait: { initialSeconds: 20, growthFactor: 2, maxSeconds: 240, timeoutSeconds: 1800 },
    keepReplaced: true,
  },
  'deploy-pipeline-model': {
    ...MINIMAL_INPUTS['deploy-pipeline-model'],
    modelName: 'iris',
    containers: [
      {
        image: 'smhost/onnx:latest',
        modelDataUrl: 's3://smhost-dev-artifacts-123456789012/pipelines/scaler.tar.gz',
        environment: { SMHOST_OUTPUT: 'variable' },
        containerHostname: 'scaler',
      },
      {
        image: 'smhost/onnx:latest',
        modelDataUrl: 's3://smhost-dev-artifacts-123456789012/pipelines/classifier.tar.gz',
        containerHostname: 'classifier',
      },
    ],
    inferenceExecutionMode: 'Direct',
    updateEndpoint: true,
    initialInstanceCount: 1,
    volumeSizeInGB: 10,
    modelDataDownloadTimeoutInSeconds: 900,
    containerStartupHealthCheckTimeoutInSeconds: 600,
    dataCapture: {
      destinationS3Uri: 's3://smhost-dev-artifacts-123456789012/capture/',
      initialSamplingPercentage: 100,
      captureModes: ['Input'],
      kmsKeyId: 'alias/capture',
      csvContentTypes: ['text/csv'],
      jsonContentTypes: ['application/json'],
    },
    kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    vpcConfig: { subnets: ['subnet-0abc', 'subnet-0def'], securityGroupIds: ['sg-0abc'] },
    enableNetworkIsolation: true,
    tags: { team: 'ml' },
    keepReplaced: false,
  },
  'register-model-package': {
    ...MINIMAL_INPUTS['register-model-package'],
    modelPackageGroupDescription: 'Iris classifiers',
    containers: [
      { image: 'smhost/onnx:latest', modelDataUrl: 's3://smhost-dev-artifacts-123456789012/pipelines/scaler.tar.gz', containerHostname: 'scaler', environment: { A: '1' } },
      { image: 'smhost/onnx:latest', modelDataUrl: 's3://smhost-dev-artifacts-123456789012/pipelines/classifier.tar.gz', framework: 'ONNX', frameworkVersion: '1.17' },
    ],
    inferenceInstances: ['ml.m5.large', 'ml.c5.xlarge'],
    transformInstances: ['ml.m5.large'],
    approvalStatus: 'Approved',
    description: 'Iris scaler and classifier',
    modelMetrics: {
      modelQuality: { statistics: metrics('quality-statistics'), constraints: metrics('quality-constraints') },
      modelDataQuality: { statistics: metrics('data-statistics'), constraints: metrics('data-constraints') },
      bias: { report: metrics('bias'), preTrainingReport: metrics('bias-pre'), postTrainingReport: metrics('bias-post') },
      explainability: { report: metrics('explainability') },
    },
    driftCheckBaselines: {
      bias: {
        configFile: { s3Uri: 's3://smhost-dev-artifacts-123456789012/drift/bias-config.json', contentType: 'application/json' },
        preTrainingConstraints: metrics('drift-bias-pre'),
        postTrainingConstraints: metrics('drift-bias-post'),
      },
      explainability: { constraints: metrics('drift-explainability'), configFile: { s3Uri: 's3://smhost-dev-artifacts-123456789012/drift/shap.json' } },
      modelQuality: { statistics: metrics('drift-quality-statistics'), constraints: metrics('drift-quality-constraints') },
      modelDataQuality: { statistics: metrics('drift-data-statistics'), constraints: metrics('drift-data-constraints') },
    },
    metadataProperties: { commitId: 'abc123', repository: 'git@example.org:ml/iris.git', generatedBy: 'ci', projectId: 'iris' },
    customerMetadataProperties: { owner: 'ml-team' },
    marketplaceCert: false,
    domain: 'MACHINE_LEARNING',
    task: 'CLASSIFICATION',
    samplePayloadUrl: 's3://smhost-dev-artifacts-123456789012/samples/payload.tar.gz',
    skipModelValidation: 'None',
    framework: 'ONNX',
    frameworkVersion: '1.17',
    nearestModelName: 'xgboost',
    dataInputConfiguration: '{"input":[1,4]}',
    tags: { team: 'ml' },
  },
  'batch-transform': {
    ...MINIMAL_INPUTS['batch-transform'],
    jobName: 'nightly-iris',
    dataType: 'S3Prefix',
    contentType: 'text/csv',
    compressionType: 'None',
    splitType: 'Line',
    inputFilter: '$[0:3]',
    outputFilter: '$',
    joinSource: 'Input',
    outputKmsKey: 'alias/out',
    accept: 'text/csv',
    assembleWith: 'Line',
    strategy: 'MultiRecord',
    environment: { SMHOST_OUTPUT: 'label' },
    maxConcurrentTransforms: 4,
    maxPayload: 6,
    modelClientConfig: { invocationsTimeoutInSeconds: 60, invocationsMaxRetries: 2 },
    instanceCount: 2,
    volumeKmsKey: 'alias/volume',
    tags: { team: 'ml' },
    scheduledTime: '2024-05-01T09:30:00Z',
  },
};
