import { describe, expect, it } from 'vitest';
import { TemplateEvaluationError } from '../../../src/cloudformation';
import { ServerlessConfigError } from '../../../src/local/serverless/errors';
import { functionLogicalId, stackEvaluator, stackTemplate } from '../../../src/local/serverless/stack-template';

const OPTIONS = { region: 'eu-west-1', accountId: '000000000000', stackName: 'svc-dev' };

describe('Function: stackTemplate', () => {
  it('adds the resources the framework and the plugin generate, keeping a log group the file declares', () => {
    // Prepare
    const document = {
      resources: {
        Resources: { WorkerLogGroup: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: 'custom' } }, Queue: { Type: 'AWS::SQS::Queue' } },
      },
    };

    // Act
    const template = stackTemplate(document, {
      functions: [
        { logicalId: functionLogicalId('worker'), name: 'svc-dev-worker' },
        { logicalId: functionLogicalId('other-fn'), name: 'named' },
      ],
      stateMachines: [{ logicalId: 'FlowStepFunctionsStateMachine', name: 'flow' }],
    });

    // Assess
    expect(template.Resources).toEqual({
      WorkerLogGroup: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: 'custom' } },
      Queue: { Type: 'AWS::SQS::Queue' },
      WorkerLambdaFunction: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'svc-dev-worker' } },
      OtherDashfnLambdaFunction: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'named' } },
      OtherDashfnLogGroup: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/aws/lambda/named' } },
      FlowStepFunctionsStateMachine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { StateMachineName: 'flow' } },
    });
  });

  it('refuses a resource that is not a mapping and a parameter without a Default, naming them', () => {
    // Act
    const notMapping = () => stackTemplate({ resources: { Resources: { Queue: 'x' } } }, { functions: [] });
    const noDefault = () => stackTemplate({ resources: { Parameters: { Size: { Type: 'String' } }, Resources: {} } }, { functions: [] });

    // Assess
    expect(notMapping).toThrow(ServerlessConfigError);
    expect(notMapping).toThrow('serverless.yml: resources.Resources.Queue must be a mapping');
    expect(noDefault).toThrow('serverless.yml: resources.Parameters.Size needs a Default');
  });
});

describe('Function: stackEvaluator', () => {
  it('answers with local values: queue URLs on the edge, names stable across reads, any type an Arn', () => {
    // Prepare
    const template = stackTemplate(
      {
        resources: {
          Resources: {
            First: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { 'Fn::Sub': '${Second}-first' } } },
            Second: { Type: 'AWS::DynamoDB::Table' },
            Role: { Type: 'AWS::IAM::Role', Properties: { RoleName: 'flow-role' } },
            Repo: { Type: 'AWS::ECR::Repository' },
          },
        },
      },
      { functions: [{ logicalId: 'WorkerLambdaFunction', name: 'svc-dev-worker' }] },
    );
    const read = () => stackEvaluator(template, { ...OPTIONS, edgeUrl: 'http://127.0.0.1:9999/' });

    // Act
    const value = read().resolve(
      {
        queue: { Ref: 'First' },
        table: { Ref: 'Second' },
        role: { 'Fn::GetAtt': ['Role', 'Arn'] },
        repo: { 'Fn::GetAtt': ['Repo', 'Arn'] },
        logs: { 'Fn::GetAtt': ['WorkerLogGroup', 'Arn'] },
      },
      'test',
    );

    // Assess
    const table = read().physicalName('Second', 'test');
    expect(table).toMatch(/^svc-dev-Second-[0-9A-F]{12}$/);
    expect(value).toEqual({
      queue: `http://127.0.0.1:9999/000000000000/${table}-first`,
      table,
      role: 'arn:aws:iam::000000000000:role/flow-role',
      repo: `arn:aws:local:eu-west-1:000000000000:${read().physicalName('Repo', 'test')}`,
      logs: 'arn:aws:logs:eu-west-1:000000000000:log-group:/aws/lambda/svc-dev-worker:*',
    });
  });

  it('names serverless.yml locations in its errors', () => {
    // Prepare
    const template = stackTemplate({ resources: { Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: { Ref: 'Ghost' } } } } } }, { functions: [] });

    // Act
    const name = () => stackEvaluator(template, OPTIONS).physicalName('Queue', 'test');

    // Assess
    expect(name).toThrow(TemplateEvaluationError);
    expect(name).toThrow('resources.Resources.Queue.Properties.QueueName.Ref: Ref to "Ghost"');
  });
});
