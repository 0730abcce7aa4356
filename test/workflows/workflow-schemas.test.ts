import { describe, expect, it } from 'vitest';
import {
  WORKFLOW_NAMES,
  WorkflowInputError,
  formatIssuePath,
  parseWorkflowInput,
  type WorkflowName,
} from '../../src/workflows/workflow-schemas';
import { FULL_INPUTS, MINIMAL_INPUTS } from './sample-inputs';

function refusal(workflow: WorkflowName, input: unknown): WorkflowInputError {
  try {
    parseWorkflowInput(workflow, input);
  } catch (error) {
    if (error instanceof WorkflowInputError) return error;
    throw error;
  }
  throw new Error(`${workflow} accepted ${JSON.stringify(input)}`);
}

const with_ = (workflow: WorkflowName, changes: Record<string, unknown>) => ({ ...MINIMAL_INPUTS[workflow], ...changes });
const without = (workflow: WorkflowName, field: string) => {
  const copy: Record<string, unknown> = { ...MINIMAL_INPUTS[workflow] };
  delete copy[field];
  return copy;
};

describe('Function: parseWorkflowInput', () => {
  it.each(WORKFLOW_NAMES)('accepts the minimal and the full input of %s', (workflow) => {
    // Act
    const minimal = parseWorkflowInput(workflow, MINIMAL_INPUTS[workflow]);
    const full = parseWorkflowInput(workflow, FULL_INPUTS[workflow]);

    // Assess
    expect(minimal).toBeTypeOf('object');
    expect(full).toBeTypeOf('object');
  });

  it('fills in the documented defaults', () => {
    // Act
    const input = parseWorkflowInput('deploy-pipeline-model', MINIMAL_INPUTS['deploy-pipeline-model']);

    // Assess
    expect(input.initialInstanceCount).toBe(1);
    expect(input.inferenceExecutionMode).toBe('Serial');
    expect(input.keepReplaced).toBe(false);
    expect(input.wait).toEqual({ initialSeconds: 30, growthFactor: 1.5, maxSeconds: 300, timeoutSeconds: 3600 });
  });

  // Each case: a bad input, the field the error must name, and words of the rule it must state.
  const cases: [string, WorkflowName, unknown, string, RegExp][] = [
    ['a non-object input', 'batch-transform', 'nope', '(input)', /object/],
    ['an unknown field', 'deploy-pipeline-model', with_('deploy-pipeline-model', { instanceTpye: 'ml.m5.large' }), 'instanceTpye', /not a known field/],
    ['an endpoint name with underscores', 'deploy-pipeline-model', with_('deploy-pipeline-model', { endpointName: 'my_endpoint' }), 'endpointName', /letters, digits or hyphens/],
    ['an endpoint name of 64 characters', 'deploy-multi-model-endpoint', with_('deploy-multi-model-endpoint', { endpointName: 'a'.repeat(64) }), 'endpointName', /63/],
    ['a missing endpoint name', 'deploy-multi-model-endpoint', without('deploy-multi-model-endpoint', 'endpointName'), 'endpointName', /^is required$/],
    ['a missing image', 'deploy-multi-model-endpoint', without('deploy-multi-model-endpoint', 'image'), 'image', /^is required$/],
    ['an image with spaces', 'deploy-multi-model-endpoint', with_('deploy-multi-model-endpoint', { image: 'my image' }), 'image', /whitespace/],
    ['a bad instance type', 'deploy-pipeline-model', with_('deploy-pipeline-model', { instanceType: 'm5.large' }), 'instanceType', /ml\.m5\.large/],
    ['zero instances', 'deploy-pipeline-model', with_('deploy-pipeline-model', { initialInstanceCount: 0 }), 'initialInstanceCount', /at least 1/],
    ['a fractional instance count', 'batch-transform', with_('batch-transform', { instanceCount: 1.5 }), 'instanceCount', /whole number/],
    ['one container only', 'deploy-pipeline-model', with_('deploy-pipeline-model', { containers: [{ image: 'a' }] }), 'containers', /at least 2/],
    ['sixteen containers', 'deploy-pipeline-model', with_('deploy-pipeline-model', { containers: Array.from({ length: 16 }, () => ({ image: 'a' })) }), 'containers', /at most 15/],
    ['an empty container image', 'deploy-pipeline-model', with_('deploy-pipeline-model', { containers: [{ image: 'a' }, { image: '' }] }), 'containers[1].image', /must not be empty/],
    ['a model data URL that is not S3', 'deploy-pipeline-model', with_('deploy-pipeline-model', { containers: [{ image: 'a', modelDataUrl: 'https://x/y' }, { image: 'b' }] }), 'containers[0].modelDataUrl', /S3 URI/],
    ['containers and a model package together', 'deploy-pipeline-model', with_('deploy-pipeline-model', { modelPackageName: 'iris' }), 'modelPackageName', /either containers or modelPackageName/],
    ['neither containers nor a model package', 'deploy-pipeline-model', without('deploy-pipeline-model', 'containers'), 'containers', /either containers or modelPackageName/],
    ['a malformed model package ARN', 'deploy-pipeline-model', { ...without('deploy-pipeline-model', 'containers'), modelPackageName: 'arn:aws:s3:::bucket' }, 'modelPackageName', /model package name or ARN/],
    ['Direct mode without host names', 'deploy-pipeline-model', with_('deploy-pipeline-model', { inferenceExecutionMode: 'Direct' }), 'containers[0].containerHostname', /Direct/],
    ['duplicate host names', 'deploy-pipeline-model', with_('deploy-pipeline-model', { containers: [{ image: 'a', containerHostname: 'x' }, { image: 'b', containerHostname: 'x' }] }), 'containers', /unique/],
    ['an unknown execution mode', 'deploy-pipeline-model', with_('deploy-pipeline-model', { inferenceExecutionMode: 'Parallel' }), 'inferenceExecutionMode', /Serial or Direct/],
    ['a role that is not an ARN', 'deploy-pipeline-model', with_('deploy-pipeline-model', { executionRoleArn: 'my-role' }), 'executionRoleArn', /IAM role ARN/],
    ['a sampling percentage over 100', 'deploy-pipeline-model', with_('deploy-pipeline-model', { dataCapture: { destinationS3Uri: 's3://bkt/c/', initialSamplingPercentage: 101 } }), 'dataCapture.initialSamplingPercentage', /at most 100/],
    ['a capture mode twice', 'deploy-pipeline-model', with_('deploy-pipeline-model', { dataCapture: { destinationS3Uri: 's3://bkt/c/', initialSamplingPercentage: 1, captureModes: ['Input', 'Input'] } }), 'dataCapture.captureModes', /twice/],
    ['a VPC without subnets', 'deploy-pipeline-model', with_('deploy-pipeline-model', { vpcConfig: { subnets: [], securityGroupIds: ['sg-1'] } }), 'vpcConfig.subnets', /at least one subnet/],
    ['a reserved tag key', 'deploy-pipeline-model', with_('deploy-pipeline-model', { tags: { 'aws:owner': 'x' } }), 'tags.aws:owner', /reserved/],
    ['a wait cap below its start', 'deploy-pipeline-model', with_('deploy-pipeline-model', { wait: { initialSeconds: 60, maxSeconds: 30 } }), 'wait.maxSeconds', /at least initialSeconds/],
    ['a wait timeout over a day', 'deploy-multi-model-endpoint', with_('deploy-multi-model-endpoint', { wait: { timeoutSeconds: 90_000 } }), 'wait.timeoutSeconds', /86400/],
    ['a growth factor below 1', 'deploy-multi-model-endpoint', with_('deploy-multi-model-endpoint', { wait: { growthFactor: 0.5 } }), 'wait.growthFactor', /at least 1/],
    ['a bad environment variable name', 'deploy-multi-model-endpoint', with_('deploy-multi-model-endpoint', { environment: { '1BAD': 'x' } }), 'environment.1BAD', /variable names/],
    ['a group and a package name together', 'register-model-package', with_('register-model-package', { modelPackageName: 'x' }), 'modelPackageName', /not both/],
    ['no content types', 'register-model-package', with_('register-model-package', { contentTypes: [] }), 'contentTypes', /at least one/],
    ['a response type that is not a MIME type', 'register-model-package', with_('register-model-package', { responseTypes: ['json'] }), 'responseTypes[0]', /MIME type/],
    ['an unknown approval status', 'register-model-package', with_('register-model-package', { approvalStatus: 'Yes' }), 'approvalStatus', /PendingManualApproval/],
    ['an unknown domain', 'register-model-package', with_('register-model-package', { domain: 'BIOLOGY' }), 'domain', /MACHINE_LEARNING/],
    ['an unknown task', 'register-model-package', with_('register-model-package', { task: 'DANCE' }), 'task', /CLASSIFICATION/],
    ['a metric without a content type', 'register-model-package', with_('register-model-package', { modelMetrics: { bias: { report: { s3Uri: 's3://bkt/r.json' } } } }), 'modelMetrics.bias.report.contentType', /^is required$/],
    ['a bad content digest', 'register-model-package', with_('register-model-package', { modelMetrics: { explainability: { report: { contentType: 'a/b', s3Uri: 's3://bkt/r.json', contentDigest: 'md5:1' } } } }), 'modelMetrics.explainability.report.contentDigest', /sha256/],
    ['a group description without a group', 'register-model-package', { ...without('register-model-package', 'modelPackageGroupName'), modelPackageName: 'x', modelPackageGroupDescription: 'd' }, 'modelPackageGroupDescription', /only applies/],
    ['a bad split type', 'batch-transform', with_('batch-transform', { splitType: 'Comma' }), 'splitType', /Line/],
    ['a bad compression type', 'batch-transform', with_('batch-transform', { compressionType: 'Zip' }), 'compressionType', /Gzip/],
    ['a payload over 100 MB', 'batch-transform', with_('batch-transform', { maxPayload: 101 }), 'maxPayload', /at most 100/],
    ['a filter that is not JSONPath', 'batch-transform', with_('batch-transform', { inputFilter: 'features' }), 'inputFilter', /JSONPath/],
    ['a bad strategy', 'batch-transform', with_('batch-transform', { strategy: 'AllRecords' }), 'strategy', /MultiRecord or SingleRecord/],
    ['a bad assemble mode', 'batch-transform', with_('batch-transform', { assembleWith: 'Comma' }), 'assembleWith', /None or Line/],
    ['a scheduled time that is not a date-time', 'batch-transform', with_('batch-transform', { scheduledTime: 'yesterday' }), 'scheduledTime', /ISO 8601/],
    ['an output path that is not S3', 'batch-transform', with_('batch-transform', { outputPath: '/tmp/out' }), 'outputPath', /S3 URI/],
    ['a missing model name', 'batch-transform', without('batch-transform', 'modelName'), 'modelName', /^is required$/],
  ];

  it.each(cases)('refuses %s, naming the field', (_label, workflow, input, field, rule) => {
    // Act
    const error = refusal(workflow, input);

    // Assess
    const problem = error.problems.find((p) => p.field === field);
    expect(problem, `problems: ${JSON.stringify(error.problems)}`).toBeDefined();
    expect(problem!.message).toMatch(rule);
    expect(error.message).toContain(`${field}: `);
    expect(error.message).toContain(`${workflow} input is invalid`);
  });
});

describe('Function: formatIssuePath', () => {
  it('writes list indexes in brackets and the root as (input)', () => {
    // Act / Assess
    expect(formatIssuePath(['containers', 1, 'image'])).toBe('containers[1].image');
    expect(formatIssuePath([])).toBe('(input)');
  });
});

describe('Function: parseWorkflowInput, absent fields', () => {
  it('says "is required" for an absent field, nested ones included, and keeps the schema words for a wrong value', () => {
    // Prepare
    const input = { endpointName: 7, instanceType: 'ml.m5.large', containers: [{ image: 'a' }, {}] };

    // Act
    let problems: { field: string; message: string }[] = [];
    try {
      parseWorkflowInput('deploy-pipeline-model', input);
    } catch (error) {
      problems = (error as WorkflowInputError).problems;
    }

    // Assess
    expect(problems).toContainEqual({ field: 'containers[1].image', message: 'is required' });
    expect(problems).toContainEqual({ field: 'endpointName', message: expect.stringMatching(/expected string, received number/) });
    expect(problems.some((problem) => /received undefined/.test(problem.message))).toBe(false);
  });
});
