import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPython } from '../../support/python';
import { floatTensor, irisModels, ONNX_IMAGE, runDirect, ROLE, startStack, uploadIris, type TestStack } from './support';

/** boto3 end to end: its own clients, its own `endpoint_in_service` waiter, its own error parsing. */
const SCRIPT = String.raw`
import json, sys, boto3, botocore
args = json.loads(sys.argv[1])
sm = boto3.client("sagemaker")
rt = boto3.client("sagemaker-runtime")
sm.create_model(ModelName="boto-iris", ExecutionRoleArn=args["role"],
    PrimaryContainer={"Image": args["image"], "ModelDataUrl": args["url"]})
sm.create_endpoint_config(EndpointConfigName="boto-iris-config", ProductionVariants=[{
    "VariantName": "AllTraffic", "ModelName": "boto-iris", "InitialInstanceCount": 1,
    "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}])
sm.create_endpoint(EndpointName="boto-iris", EndpointConfigName="boto-iris-config")
first = sm.describe_endpoint(EndpointName="boto-iris")["EndpointStatus"]
sm.get_waiter("endpoint_in_service").wait(EndpointName="boto-iris", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
described = sm.describe_endpoint(EndpointName="boto-iris")
response = rt.invoke_endpoint(EndpointName="boto-iris", ContentType="text/csv", Accept="application/json",
    Body="\n".join(",".join(str(x) for x in row) for row in args["rows"]))
try:
    rt.invoke_endpoint(EndpointName="boto-iris", ContentType="application/json", Body=b'{"instances": [[1]]}')
    model_error = None
except rt.exceptions.ModelError as e:
    model_error = {"code": e.response["Error"]["Code"], "status": e.response.get("OriginalStatusCode")}
try:
    sm.describe_endpoint(EndpointName="nope")
    missing = None
except botocore.exceptions.ClientError as e:
    missing = e.response["Error"]
sm.delete_endpoint(EndpointName="boto-iris")
print(json.dumps({
    "first": first,
    "status": described["EndpointStatus"],
    "created": described["CreationTime"].isoformat(),
    "variant": response["InvokedProductionVariant"],
    "contentType": response["ContentType"],
    "body": json.loads(response["Body"].read()),
    "modelError": model_error,
    "missing": {"Code": missing["Code"], "Message": missing["Message"]},
}))
`;


let stack: TestStack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

describe('Function: startSageMakerServer (driven by boto3)', () => {
  it('creates an endpoint that boto3’s endpoint_in_service waiter accepts and invoke_endpoint returns real predictions', async () => {
    // Prepare
    const { classifier } = await uploadIris(stack, 'boto');
    const models = await irisModels();
    const sample = [models.rows[0]!, models.rows[75]!, models.rows[149]!];
    const expected = Array.from((await runDirect(models.classifier, floatTensor(sample))).data as BigInt64Array, Number);
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      AWS_ENDPOINT_URL: stack.server.url,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    };

    // Act
    const run = await runPython(['-c', SCRIPT, JSON.stringify({ role: ROLE, image: ONNX_IMAGE, url: classifier, rows: sample })], env);

    // Assess
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      first: 'Creating',
      status: 'InService',
      variant: 'AllTraffic',
      contentType: 'application/json',
      modelError: { code: 'ModelError', status: 400 },
      missing: { Code: 'ValidationException', Message: 'Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/nope".' },
    });
    // The classifier's first output is the class index, as onnxruntime computes it on the same rows.
    expect(result.body).toEqual({ predictions: expected });
  });
});
