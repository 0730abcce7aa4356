import { beforeAll, describe, expect, it } from 'vitest';
import {
  actionsForTaskResource,
  cfnSchemasDir,
  checkTemplate,
  type CheckName,
  loadTemplateCheckData,
  STAR_RESOURCE_ALLOWLIST,
  type TemplateCheckData,
  type TemplateFinding,
} from '../../src/deploy';
import { type CfnTemplate, InvalidTemplateError } from '../../src/cloudformation';

const ACCOUNT = '123456789012';
const KMS_KEY = `arn:aws:kms:us-east-1:${ACCOUNT}:key/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9`;

/** A small template that passes every check: bucket → queue → function, each piece as serverless.yml has it. */
function validTemplate(): CfnTemplate & { Resources: Record<string, any> } {
  const bucketName = { 'Fn::Sub': 'demo-artifacts-${AWS::AccountId}' };
  return {
    Parameters: { KeyArn: { Type: 'String', Default: '' } },
    Conditions: { HasKey: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'KeyArn' }, ''] }] } },
    Resources: {
      Bucket: {
        Type: 'AWS::S3::Bucket',
        DependsOn: 'QueuePolicy',
        Properties: {
          BucketName: bucketName,
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              {
                ServerSideEncryptionByDefault: {
                  'Fn::If': ['HasKey', { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { Ref: 'KeyArn' } }, { SSEAlgorithm: 'AES256' }],
                },
              },
            ],
          },
          NotificationConfiguration: {
            QueueConfigurations: [{ Event: 's3:ObjectCreated:*', Queue: { 'Fn::GetAtt': ['Queue', 'Arn'] } }],
          },
        },
      },
      BucketPolicy: {
        Type: 'AWS::S3::BucketPolicy',
        Properties: {
          Bucket: { Ref: 'Bucket' },
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Deny',
                Principal: '*',
                Action: 's3:*',
                Resource: [{ 'Fn::GetAtt': ['Bucket', 'Arn'] }, { 'Fn::Sub': '${Bucket.Arn}/*' }],
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              },
            ],
          },
        },
      },
      Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'demo-events', VisibilityTimeout: 360 } },
      QueuePolicy: {
        Type: 'AWS::SQS::QueuePolicy',
        Properties: {
          Queues: [{ Ref: 'Queue' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { Service: 's3.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: { 'Fn::GetAtt': ['Queue', 'Arn'] },
                Condition: {
                  ArnEquals: { 'aws:SourceArn': { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::demo-artifacts-${AWS::AccountId}' } },
                  StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
                },
              },
            ],
          },
        },
      },
      Role: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          },
          Policies: [
            {
              PolicyName: 'demo',
              PolicyDocument: {
                Version: '2012-10-17',
                Statement: [
                  {
                    Effect: 'Allow',
                    Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
                    Resource: { 'Fn::GetAtt': ['Queue', 'Arn'] },
                  },
                  {
                    Effect: 'Allow',
                    Action: ['s3:GetObject'],
                    Resource: { 'Fn::Sub': '${Bucket.Arn}/incoming/*' },
                  },
                  {
                    'Fn::If': [
                      'HasKey',
                      { Effect: 'Allow', Action: ['kms:Decrypt'], Resource: { Ref: 'KeyArn' } },
                      { Ref: 'AWS::NoValue' },
                    ],
                  },
                ],
              },
            },
          ],
        },
      },
      Function: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Code: { ZipFile: 'export const handler = async () => ({ batchItemFailures: [] });' },
          Handler: 'index.handler',
          Runtime: 'nodejs22.x',
          Timeout: 60,
          Role: { 'Fn::GetAtt': ['Role', 'Arn'] },
        },
      },
      Mapping: {
        Type: 'AWS::Lambda::EventSourceMapping',
        Properties: {
          EventSourceArn: { 'Fn::GetAtt': ['Queue', 'Arn'] },
          FunctionName: { 'Fn::GetAtt': ['Function', 'Arn'] },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
        },
      },
    },
  };
}

let data: TemplateCheckData;
const SAMPLES = { parameterSamples: { KeyArn: [KMS_KEY] } };

beforeAll(() => {
  data = loadTemplateCheckData(cfnSchemasDir());
});

function findingsOf(change: (template: ReturnType<typeof validTemplate>) => void, check?: CheckName): TemplateFinding[] {
  const template = validTemplate();
  change(template);
  const findings = checkTemplate(template, data, SAMPLES);
  return check === undefined ? findings : findings.filter((f) => f.check === check);
}

function statementsOf(template: ReturnType<typeof validTemplate>): any[] {
  return template.Resources.Role.Properties.Policies[0].PolicyDocument.Statement;
}

/** Adds statements before the conditional last one, so their indices are the same in every branch. */
function addStatements(template: ReturnType<typeof validTemplate>, ...statements: unknown[]): void {
  const list = statementsOf(template);
  list.splice(list.length - 1, 0, ...statements);
}

describe('Function: checkTemplate (each check can fail)', () => {
  it('passes the valid template, in both branches of its condition', () => {
    // Act
    const findings = checkTemplate(validTemplate(), data, SAMPLES);

    // Assess
    expect(findings).toEqual([]);
  });

  it('refuses a value that is not a template, naming what is missing', () => {
    // Act / Assess
    expect(() => checkTemplate({ Resources: {} }, data)).toThrow(InvalidTemplateError);
    expect(() => checkTemplate({ Resources: { X: { Properties: {} } } }, data)).toThrow(/Resources\.X must be an object with a string "Type"/);
  });

  it('reports a property unknown to the schema, and a value outside its range', () => {
    // Act
    const findings = findingsOf((t) => {
      t.Resources.Queue.Properties.VisibilityTimout = 360;
      t.Resources.Queue.Properties.MessageRetentionPeriod = 'a week';
      t.Resources.Function.Properties.Timeout = 5400;
    }, 'schema');

    // Assess
    expect(findings).toEqual(
      expect.arrayContaining([
        { check: 'schema', resource: 'Queue', message: 'AWS::SQS::Queue Properties has unknown property "VisibilityTimout"' },
        { check: 'schema', resource: 'Queue', message: 'AWS::SQS::Queue Properties.MessageRetentionPeriod must be integer' },
        { check: 'schema', resource: 'Function', message: 'AWS::Lambda::Function Properties.Timeout must be <= 900' },
      ]),
    );
  });

  it('reports a schema violation found only in one branch, naming the parameter value that takes it', () => {
    // Act
    const findings = findingsOf((t) => {
      t.Resources.Bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault[
        'Fn::If'
      ][1].SSEAlgorithm = 'aws:kmz';
    }, 'schema');

    // Assess
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toMatch(/SSEAlgorithm must be one of .* \(with KeyArn=arn:aws:kms:/);
  });

  it('reports a resource type without a schema, and a read-only property set', () => {
    // Act
    const findings = findingsOf((t) => {
      t.Resources.Odd = { Type: 'AWS::SQS::QueueRedriveAllowPolicy', Properties: {} };
      t.Resources.Queue.Properties.Arn = 'arn:aws:sqs:us-east-1:123456789012:demo-events';
    });

    // Assess
    expect(findings).toEqual(
      expect.arrayContaining([
        { check: 'schema', resource: 'Odd', message: 'no CloudFormation schema for type AWS::SQS::QueueRedriveAllowPolicy' },
        {
          check: 'read-only-property',
          resource: 'Queue',
          message: 'AWS::SQS::Queue Arn is read-only (CloudFormation returns it); it cannot be set',
        },
      ]),
    );
  });

  it('reports references to nothing and attributes it cannot evaluate', () => {
    // Act
    const findings = findingsOf((t) => {
      t.Resources.Function.Properties.Environment = {
        Variables: { A: { Ref: 'Nowhere' }, B: { 'Fn::GetAtt': ['Queue', 'Colour'] } },
      };
    }, 'intrinsics');

    // Assess
    expect(findings.map((f) => f.message)).toEqual([
      expect.stringContaining('Ref to "Nowhere", which is no parameter, pseudo parameter or resource'),
    ]);
    const second = findingsOf((t) => {
      t.Resources.Function.Properties.Environment = { Variables: { B: { 'Fn::GetAtt': ['Queue', 'Colour'] } } };
    }, 'intrinsics');
    expect(second[0]!.message).toContain('no offline value for Fn::GetAtt Queue.Colour (type AWS::SQS::Queue)');
  });

  it('reports a parameter with neither a default nor a sample value', () => {
    // Act
    const findings = findingsOf((t) => {
      t.Parameters = { ...t.Parameters, Stage: { Type: 'String' } };
    }, 'intrinsics');

    // Assess
    expect(findings.map((f) => f.message)).toEqual(['parameter Stage has no Default and no sample value to check with']);
  });

  it('reports an IAM action that does not exist', () => {
    // Act
    const findings = findingsOf((t) => {
      statementsOf(t)[1].Action = ['s3:GetObjekt'];
    }, 'iam-action-exists');

    // Assess
    expect(findings).toEqual([
      { check: 'iam-action-exists', resource: 'Role', message: 'Policies[0].PolicyDocument.Statement[1]: s3:GetObjekt is not an IAM action' },
    ]);
  });

  it('reports wildcard actions and NotAction in an Allow, but accepts s3:* in the TLS Deny', () => {
    // Act
    const findings = findingsOf((t) => {
      statementsOf(t)[1].Action = ['s3:Get*'];
      addStatements(t, { Effect: 'Allow', NotAction: 'iam:*', Resource: { 'Fn::GetAtt': ['Queue', 'Arn'] } });
    }, 'iam-wildcard-action');

    // Assess
    expect(findings.map((f) => f.message)).toEqual([
      'Policies[0].PolicyDocument.Statement[1]: Allow of wildcard action s3:Get*; list the actions instead',
      'Policies[0].PolicyDocument.Statement[2]: Allow with NotAction grants every other action; list the actions instead',
    ]);
  });

  it('reports Resource "*" for a scoped action, accepts it for an allowlisted one', () => {
    // Act
    const findings = findingsOf((t) => {
      statementsOf(t)[1].Resource = '*';
      addStatements(t, { Effect: 'Allow', Action: ['sagemaker:ListEndpoints', 'xray:PutTraceSegments'], Resource: '*' });
    }, 'iam-star-resource');

    // Assess
    expect(findings.map((f) => f.message)).toEqual([
      expect.stringMatching(/Statement\[1\]: s3:GetObject on Resource "\*"; it can be scoped to .*object/),
    ]);
  });

  it('reports Resource "*" for an unscoped action left out of the allowlist, and NotResource', () => {
    // Act
    const findings = findingsOf((t) => {
      addStatements(t, { Effect: 'Allow', Action: ['sqs:ListQueues'], Resource: '*' });
      addStatements(t, { Effect: 'Allow', Action: ['s3:GetObject'], NotResource: 'arn:aws:s3:::other/*' });
    }, 'iam-star-resource');

    // Assess
    expect(findings.map((f) => f.message)).toEqual([
      'Policies[0].PolicyDocument.Statement[2]: sqs:ListQueues on Resource "*" is not in the allowlist (src/deploy/star-resource-allowlist.ts) with a reason',
      'Policies[0].PolicyDocument.Statement[3]: Allow with NotResource grants every other resource; list the resources instead',
    ]);
  });

  it('refuses an allowlist entry that can be scoped, is unknown, or has no reason', () => {
    // Act
    const findings = checkTemplate(validTemplate(), data, {
      ...SAMPLES,
      starResourceAllowlist: { ...STAR_RESOURCE_ALLOWLIST, 's3:GetObject': 'convenient', 'xray:Teleport': 'why not', 'sqs:ListQueues': ' ' },
    });

    // Assess
    expect(findings.map((f) => f.message)).toEqual([
      's3:GetObject', 'xray:Teleport', 'sqs:ListQueues',
    ].map((action) => expect.stringContaining(`allowlist entry ${action}`)));
  });

  it('reports an action granted on a resource of the wrong type, and one with no resource-level permission', () => {
    // Act
    const findings = findingsOf((t) => {
      statementsOf(t)[1].Resource = `arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/demo`;
      addStatements(t, { Effect: 'Allow', Action: ['sagemaker:ListEndpoints'], Resource: `arn:aws:sagemaker:us-east-1:${ACCOUNT}:endpoint/*` });
    }, 'iam-resource-scope');

    // Assess
    expect(findings.map((f) => f.message)).toEqual([
      expect.stringMatching(/Statement\[1\]: s3:GetObject applies to .*object.*, and none of \["arn:aws:dynamodb/),
      expect.stringMatching(/Statement\[1\]: no action of the statement applies to arn:aws:dynamodb/),
      expect.stringMatching(/Statement\[2\]: sagemaker:ListEndpoints supports no resource-level permissions/),
      expect.stringMatching(/Statement\[2\]: no action of the statement applies to arn:aws:sagemaker/),
    ]);
  });

  it('reports a statement that is not a policy statement', () => {
    // Act
    const findings = findingsOf((t) => {
      statementsOf(t)[1].Effect = 'Maybe';
    }, 'iam-policy-shape');

    // Assess
    expect(findings.map((f) => f.message)).toEqual([
      'Policies[0].PolicyDocument: Statement[1] "Effect" must be "Allow" or "Deny", got "Maybe"',
    ]);
  });

  it('reports functions sharing a role, a role not from the template, and a role Lambda cannot assume', () => {
    // Act
    const findings = findingsOf((t) => {
      t.Resources.Second = structuredClone(t.Resources.Function);
      t.Resources.Third = structuredClone(t.Resources.Function);
      t.Resources.Third.Properties.Role = `arn:aws:iam::${ACCOUNT}:role/shared`;
      t.Resources.Role.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service = 'states.amazonaws.com';
    }, 'lambda-own-role');

    // Assess
    expect(findings).toEqual([
      { check: 'lambda-own-role', resource: 'Function', message: 'role Role does not let lambda.amazonaws.com assume it' },
      { check: 'lambda-own-role', resource: 'Second', message: 'role Role does not let lambda.amazonaws.com assume it' },
      {
        check: 'lambda-own-role',
        resource: 'Third',
        message: `Role must be Fn::GetAtt [<role>, Arn] of an AWS::IAM::Role in this template, got "arn:aws:iam::${ACCOUNT}:role/shared"`,
      },
      {
        check: 'lambda-own-role',
        resource: 'Role',
        message: 'role is shared by Function, Second; each function needs its own, least-privilege role',
      },
    ]);
  });

  it('reports a queue visibility timeout under six times the function timeout, defaults included', () => {
    // Act
    const findings = findingsOf((t) => {
      t.Resources.Function.Properties.Timeout = 61;
    }, 'queue-visibility-timeout');
    const defaults = findingsOf((t) => {
      delete t.Resources.Queue.Properties.VisibilityTimeout;
      delete t.Resources.Function.Properties.Timeout;
      t.Resources.Function.Properties.Timeout = 6;
    }, 'queue-visibility-timeout');

    // Assess
    expect(findings.map((f) => f.message)).toEqual(['Queue VisibilityTimeout 360 s is under 6 x Function Timeout 61 s (366 s)']);
    expect(defaults.map((f) => f.message)).toEqual(['Queue VisibilityTimeout 30 s is under 6 x Function Timeout 6 s (36 s)']);
  });

  it('reports a bucket that does not block every kind of public access', () => {
    // Act
    const findings = findingsOf((t) => {
      delete t.Resources.Bucket.Properties.PublicAccessBlockConfiguration.RestrictPublicBuckets;
      t.Resources.Bucket.Properties.PublicAccessBlockConfiguration.BlockPublicAcls = false;
    }, 'bucket-public-access');

    // Assess
    expect(findings).toEqual([
      {
        check: 'bucket-public-access',
        resource: 'Bucket',
        message: 'PublicAccessBlockConfiguration must set BlockPublicAcls, RestrictPublicBuckets to true',
      },
    ]);
  });

  it('reports a bucket whose policy does not deny plain HTTP on the bucket and its objects', () => {
    // Prepare
    const denial = (t: ReturnType<typeof validTemplate>) => t.Resources.BucketPolicy.Properties.PolicyDocument.Statement[0];

    // Act
    const variants = [
      findingsOf((t) => (denial(t).Condition.Bool['aws:SecureTransport'] = 'true'), 'bucket-tls-only'),
      findingsOf((t) => (denial(t).Resource = denial(t).Resource.slice(0, 1)), 'bucket-tls-only'),
      findingsOf((t) => (denial(t).Action = 's3:GetObject'), 'bucket-tls-only'),
      findingsOf((t) => delete t.Resources.BucketPolicy, 'bucket-tls-only'),
    ];

    // Assess
    for (const findings of variants) {
      expect(findings).toEqual([expect.objectContaining({ check: 'bucket-tls-only', resource: 'Bucket' })]);
    }
  });

  it('reports a notified queue whose policy is not limited to the bucket and its account', () => {
    // Prepare
    const grant = (t: ReturnType<typeof validTemplate>) => t.Resources.QueuePolicy.Properties.PolicyDocument.Statement[0];

    // Act
    const noAccount = findingsOf((t) => delete grant(t).Condition.StringEquals, 'notification-queue-policy');
    const otherBucket = findingsOf(
      (t) => (grant(t).Condition.ArnEquals['aws:SourceArn'] = 'arn:aws:s3:::someone-else'),
      'notification-queue-policy',
    );
    const anyone = findingsOf((t) => {
      t.Resources.QueuePolicy.Properties.PolicyDocument.Statement.push({
        Effect: 'Allow',
        Principal: '*',
        Action: 'sqs:SendMessage',
        Resource: { 'Fn::GetAtt': ['Queue', 'Arn'] },
      });
    }, 'notification-queue-policy');

    // Assess
    expect(noAccount).toEqual([expect.objectContaining({ resource: 'Bucket', message: expect.stringContaining('aws:SourceAccount') })]);
    expect(otherBucket).toEqual([expect.objectContaining({ resource: 'Bucket' })]);
    expect(anyone).toEqual([
      {
        check: 'notification-queue-policy',
        resource: 'QueuePolicy',
        message: 'PolicyDocument.Statement[1] lets any principal use the queue without an aws:SourceArn condition',
      },
    ]);
  });
  it('checks state machine definitions against the ASL schema, after resolving their intrinsics', () => {
    // Prepare
    const addStateMachine = (t: ReturnType<typeof validTemplate>, definition: string): void => {
      t.Resources.StatesRole = {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          },
          Policies: [
            {
              PolicyName: 'notify',
              PolicyDocument: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['Queue', 'Arn'] } }],
              },
            },
          ],
        },
      };
      t.Resources.Deploy = {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: {
          RoleArn: { 'Fn::GetAtt': ['StatesRole', 'Arn'] },
          DefinitionString: { 'Fn::Sub': [definition, { QueueUrl: { Ref: 'Queue' } }] },
        },
      };
    };
    const good = JSON.stringify({
      StartAt: 'Notify',
      States: {
        Notify: {
          Type: 'Task',
          Resource: 'arn:aws:states:::sqs:sendMessage',
          Parameters: { QueueUrl: '${QueueUrl}', 'MessageBody.$': '$' },
          End: true,
        },
      },
    });
    const bad = JSON.stringify({ States: { Notify: { Type: 'Teleport', End: true } } });

    // Act
    const accepted = findingsOf((t) => addStateMachine(t, good));
    const refused = findingsOf((t) => addStateMachine(t, bad), 'state-machine-definition');
    const notJson = findingsOf((t) => addStateMachine(t, '{"StartAt": '), 'state-machine-definition');

    // Assess
    expect(accepted).toEqual([]);
    expect(refused.map((f) => f.message)).toEqual(
      expect.arrayContaining([expect.stringContaining("must have required property 'StartAt'")]),
    );
    expect(refused.length).toBeGreaterThan(1);
    expect(notJson.map((f) => f.message)).toEqual([expect.stringMatching(/^DefinitionString is not JSON/)]);
  });

  it('accepts the Succeed fields the States Language allows and the shared schema leaves out, and no others', () => {
    // Prepare
    const machine = (succeed: Record<string, unknown>) => (t: ReturnType<typeof validTemplate>) => {
      addWorkflow(t);
      t.Resources.Machine.Properties.DefinitionString = JSON.stringify({
        StartAt: 'Done',
        States: { Done: { Type: 'Succeed', ...succeed } },
      });
    };

    // Act
    const paths = findingsOf(machine({ InputPath: '$.a', OutputPath: '$.b', QueryLanguage: 'JSONPath' }), 'state-machine-definition');
    const resultPath = findingsOf(machine({ ResultPath: '$.c' }), 'state-machine-definition');
    const jsonata = findingsOf(machine({ QueryLanguage: 'JSONata', OutputPath: '$.b' }), 'state-machine-definition');
    const badPath = findingsOf(machine({ OutputPath: 'b' }), 'state-machine-definition');

    // Assess
    expect(paths).toEqual([]);
    expect(resultPath.map((f) => f.message)).toContain('definition.States.Done has unknown property "ResultPath"');
    expect(jsonata.length).toBeGreaterThan(0);
    expect(badPath.map((f) => f.message)).toEqual(expect.arrayContaining([expect.stringContaining('States.Done.OutputPath must match pattern')]));
  });

  it('passes a state machine with its own role, passing a role to one service, started by a schedule with a DLQ', () => {
    // Act
    const findings = findingsOf(addWorkflow);

    // Assess
    expect(findings.map((f) => `${f.check} ${f.message}`)).toEqual([]);
  });

  it('reports iam:PassRole without an iam:PassedToService condition, however the action is written', () => {
    // Act
    const findings = findingsOf((t) => {
      addWorkflow(t);
      const pass = workflowStatements(t)[0];
      pass.Condition = { StringEquals: { 'iam:AssociatedResourceArn': 'arn:aws:sagemaker:us-east-1:123456789012:model/x' } };
      workflowStatements(t).push({ Effect: 'Allow', Action: 'IAM:passrole', Resource: { 'Fn::GetAtt': ['ExecutionRole', 'Arn'] } });
    }, 'iam-pass-role-condition');

    // Assess
    expect(findings.map((f) => f.message)).toEqual([
      'Policies[0].PolicyDocument.Statement[0]: iam:PassRole needs a Condition StringEquals iam:PassedToService naming the service the role is for',
      'Policies[0].PolicyDocument.Statement[2]: iam:PassRole needs a Condition StringEquals iam:PassedToService naming the service the role is for',
    ]);
    expect(findings.every((f) => f.resource === 'StatesRole')).toBe(true);
  });

  it('reports state machines sharing a role, one with a role from outside, and a role Step Functions cannot assume', () => {
    // Act
    const shared = findingsOf((t) => {
      addWorkflow(t);
      t.Resources.Second = structuredClone(t.Resources.Machine);
      t.Resources.Second.Properties.StateMachineName = 'demo-second';
    }, 'state-machine-own-role');
    const documented = checkTemplate(
      (() => {
        const t = validTemplate();
        addWorkflow(t);
        t.Resources.Second = structuredClone(t.Resources.Machine);
        t.Resources.Second.Properties.StateMachineName = 'demo-second';
        return t;
      })(),
      data,
      { ...SAMPLES, sharedStateMachineRoles: { StatesRole: 'both machines only read endpoints' } },
    ).filter((f) => f.check === 'state-machine-own-role');
    const outside = findingsOf((t) => {
      addWorkflow(t);
      t.Resources.Machine.Properties.RoleArn = `arn:aws:iam::${ACCOUNT}:role/anything`;
    }, 'state-machine-own-role');
    const wrongTrust = findingsOf((t) => {
      addWorkflow(t);
      t.Resources.StatesRole.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service = 'lambda.amazonaws.com';
    }, 'state-machine-own-role');

    // Assess
    expect(shared).toEqual([
      {
        check: 'state-machine-own-role',
        resource: 'StatesRole',
        message:
          'role is shared by Machine, Second; give each state machine its own, least-privilege role, or document the sharing (sharedStateMachineRoles) with a reason',
      },
    ]);
    expect(documented).toEqual([]);
    expect(outside.map((f) => f.message)).toEqual([expect.stringMatching(/^RoleArn must be Fn::GetAtt \[<role>, Arn\] of an AWS::IAM::Role/)]);
    expect(wrongTrust.map((f) => f.message)).toEqual(['role StatesRole does not let states.amazonaws.com assume it']);
  });

  it('reports a schedule without retries or DLQ, and a schedule role that may do more than start its state machine', () => {
    // Act
    const unsafe = findingsOf((t) => {
      addWorkflow(t);
      delete t.Resources.Schedule.Properties.Target.RetryPolicy;
      delete t.Resources.Schedule.Properties.Target.DeadLetterConfig;
    }, 'schedule-target');
    const tooMuch = findingsOf((t) => {
      addWorkflow(t);
      schedulerStatements(t).push(
        { Effect: 'Allow', Action: 'states:StopExecution', Resource: `arn:aws:states:us-east-1:${ACCOUNT}:execution:demo-machine:*` },
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['Queue', 'Arn'] } },
      );
    }, 'schedule-target');
    const cannotStart = findingsOf((t) => {
      addWorkflow(t);
      schedulerStatements(t)[0].Resource = `arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:someone-else`;
      t.Resources.SchedulerRole.Properties.AssumeRolePolicyDocument.Statement[0].Principal.Service = 'events.amazonaws.com';
    }, 'schedule-target');

    // Assess
    expect(unsafe.map((f) => f.message)).toEqual([
      'Target.RetryPolicy is missing: a start that fails would not be retried',
      'Target.DeadLetterConfig.Arn is missing: a start that fails after its retries would be lost',
      // Without a DLQ, the role's sqs:SendMessage has nothing left to be for.
      expect.stringContaining('allows sqs:SendMessage; a schedule\'s role may only start its state machine and write to its DLQ'),
    ]);
    expect(tooMuch.map((f) => f.message)).toEqual([
      expect.stringContaining('Statement[2] allows states:StopExecution; a schedule\'s role may only start its state machine'),
      expect.stringMatching(/Statement\[3\] allows sqs:SendMessage on \["arn:aws:sqs:us-east-1:123456789012:demo-events"\], beyond .*demo-schedule-dlq$/),
    ]);
    expect(cannotStart.map((f) => f.message)).toEqual([
      'role SchedulerRole does not let scheduler.amazonaws.com assume it',
      `role SchedulerRole does not allow states:StartExecution on arn:aws:states:us-east-1:${ACCOUNT}:stateMachine:demo-machine`,
      expect.stringMatching(/Statement\[0\] allows states:StartExecution on .*someone-else.*, beyond .*demo-machine$/),
    ]);
  });

  it('reports a state machine role missing an action its tasks call, granting one none needs, or a task it cannot read', () => {
    // Prepare
    const withTasks = (t: ReturnType<typeof validTemplate>, resources: string[]): void => {
      addWorkflow(t);
      const states = Object.fromEntries(
        resources.map((resource, index) => [
          `Task${index}`,
          { Type: 'Task', Resource: resource, ...(index + 1 < resources.length ? { Next: `Task${index + 1}` } : { End: true }) },
        ]),
      );
      t.Resources.Machine.Properties.DefinitionString = JSON.stringify({ StartAt: 'Task0', States: states });
    };

    // Act
    const findings = findingsOf((t) => {
      withTasks(t, [
        'arn:aws:states:::aws-sdk:sagemaker:createModel',
        'arn:aws:states:::sagemaker:createTransformJob.sync',
        'arn:aws:states:us-east-1:123456789012:activity:approve',
      ]);
      workflowStatements(t).push({
        Effect: 'Allow',
        Action: ['sagemaker:DescribeEndpoint'],
        Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:endpoint/*' },
      });
    }, 'state-machine-permissions');

    // Assess
    expect(findings.map((f) => f.message)).toEqual([
      'cannot tell which IAM actions the task resource arn:aws:states:us-east-1:123456789012:activity:approve needs; grant them and extend actionsForTaskResource',
      ...['sagemaker:CreateTransformJob', 'sagemaker:DescribeTransformJob', 'sagemaker:StopTransformJob', 'events:PutTargets', 'events:PutRule', 'events:DescribeRule'].map(
        (action) => `role StatesRole does not grant ${action}, which a task of the definition calls`,
      ),
      'role StatesRole grants sagemaker:DescribeEndpoint, which no task of the definition needs',
    ]);
  });
});

describe('Function: actionsForTaskResource', () => {
  it('maps each kind of integration to the IAM actions it needs', () => {
    // Act / Assess
    expect(actionsForTaskResource('arn:aws:states:::lambda:invoke')).toEqual(['lambda:InvokeFunction']);
    expect(actionsForTaskResource('arn:aws:lambda:us-east-1:123456789012:function:f')).toEqual(['lambda:InvokeFunction']);
    expect(actionsForTaskResource('arn:aws:states:::aws-sdk:sagemaker:describeEndpoint')).toEqual(['sagemaker:DescribeEndpoint']);
    expect(actionsForTaskResource('arn:aws:states:::aws-sdk:s3:listObjectsV2')).toEqual(['s3:ListBucket']);
    expect(actionsForTaskResource('arn:aws:states:::dynamodb:putItem')).toEqual(['dynamodb:PutItem']);
    expect(actionsForTaskResource('arn:aws:states:::sagemaker:createTransformJob')).toEqual(['sagemaker:CreateTransformJob']);
    expect(actionsForTaskResource('arn:aws:states:::sagemaker:createTransformJob.sync')).toContain('events:PutRule');
    expect(actionsForTaskResource('arn:aws:states:::glue:startJobRun.sync')).toBeUndefined();
  });
});

/** The role statements of the state machine that {@link addWorkflow} adds. */
function workflowStatements(template: ReturnType<typeof validTemplate>): any[] {
  return template.Resources.StatesRole.Properties.Policies[0].PolicyDocument.Statement;
}

function schedulerStatements(template: ReturnType<typeof validTemplate>): any[] {
  return template.Resources.SchedulerRole.Properties.Policies[0].PolicyDocument.Statement;
}

/**
 * Adds what serverless.yml's workflows add, in small: a state machine under its own role, which passes an
 * execution role to SageMaker only, and a schedule starting it with retries, a DLQ and a role of its own.
 */
function addWorkflow(t: ReturnType<typeof validTemplate>): void {
  const trust = (service: string) => ({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  });
  t.Resources.ExecutionRole = { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: trust('sagemaker.amazonaws.com') } };
  t.Resources.StatesRole = {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: trust('states.amazonaws.com'),
      Policies: [
        {
          PolicyName: 'machine',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: 'iam:PassRole',
                Resource: { 'Fn::GetAtt': ['ExecutionRole', 'Arn'] },
                Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
              },
              {
                Effect: 'Allow',
                Action: ['sagemaker:CreateModel'],
                Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model/*-??????????' },
              },
            ],
          },
        },
      ],
    },
  };
  t.Resources.Machine = {
    Type: 'AWS::StepFunctions::StateMachine',
    Properties: {
      StateMachineName: 'demo-machine',
      RoleArn: { 'Fn::GetAtt': ['StatesRole', 'Arn'] },
      DefinitionString: JSON.stringify({
        StartAt: 'CreateModel',
        States: {
          CreateModel: {
            Type: 'Task',
            Resource: 'arn:aws:states:::aws-sdk:sagemaker:createModel',
            Parameters: { 'ModelName.$': '$.name', 'ExecutionRoleArn.$': '$.role' },
            End: true,
          },
        },
      }),
    },
  };
  t.Resources.ScheduleDlq = { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'demo-schedule-dlq' } };
  t.Resources.SchedulerRole = {
    Type: 'AWS::IAM::Role',
    Properties: {
      AssumeRolePolicyDocument: trust('scheduler.amazonaws.com'),
      Policies: [
        {
          PolicyName: 'start',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: 'Machine' } },
              { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': ['ScheduleDlq', 'Arn'] } },
            ],
          },
        },
      ],
    },
  };
  t.Resources.Schedule = {
    Type: 'AWS::Scheduler::Schedule',
    Properties: {
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'DISABLED',
      Target: {
        Arn: { Ref: 'Machine' },
        RoleArn: { 'Fn::GetAtt': ['SchedulerRole', 'Arn'] },
        Input: '{"scheduledTime":"<aws.scheduler.scheduled-time>"}',
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['ScheduleDlq', 'Arn'] } },
      },
    },
  };
}
