"""A client of the local stack that knows nothing of the project: boto3 only, configured by the standard
environment (AWS_ENDPOINT_URL, region, credentials), as any user's script would be.

It deploys a multi-model endpoint by starting the deploy-multi-model-endpoint state machine, drops a model
archive into the drop zone, waits until the live copy exists and the registry names it current, and invokes
it with TargetModel. It prints one JSON document with what it saw, for the test to check.

Usage: python3 outside_client.py '<json arguments>' where the arguments are
  stateMachineArn, endpoint, bucket, table, model, archive (a local path), rows (a list of feature rows),
  timeoutSeconds.
"""
import hashlib
import json
import sys
import time

import boto3
from botocore.exceptions import ClientError


def wait_for(what, check, timeout_seconds, interval=0.1):
    """Calls check() until it returns something other than None; raises naming `what` after the timeout."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = check()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_seconds} s waiting for {what}")
        time.sleep(interval)


REQUIRED = ("stateMachineArn", "endpoint", "bucket", "table", "model", "archive", "rows")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: outside_client.py '<json arguments>' (see the module docstring)")
    args = json.loads(sys.argv[1])
    missing = [name for name in REQUIRED if name not in args]
    if missing:
        sys.exit(f"outside_client.py: the arguments must include {', '.join(missing)}")
    timeout = args.get("timeoutSeconds", 30)
    sfn = boto3.client("stepfunctions")
    s3 = boto3.client("s3")
    dynamodb = boto3.client("dynamodb")
    runtime = boto3.client("sagemaker-runtime")
    endpoint, model, bucket = args["endpoint"], args["model"], args["bucket"]

    started = sfn.start_execution(
        stateMachineArn=args["stateMachineArn"],
        input=json.dumps({"endpointName": endpoint, "image": "smhost/onnxruntime:1", "instanceType": "ml.m5.large"}),
    )

    def finished():
        described = sfn.describe_execution(executionArn=started["executionArn"])
        return None if described["status"] == "RUNNING" else described

    execution = wait_for("the deployment execution", finished, timeout)

    with open(args["archive"], "rb") as archive:
        version = hashlib.sha256(archive.read()).hexdigest()[:16]
    s3.upload_file(args["archive"], bucket, f"incoming/{endpoint}/{model}.tar.gz")
    live_key = f"models/{endpoint}/{model}/{version}.tar.gz"

    def live_copy():
        try:
            return s3.head_object(Bucket=bucket, Key=live_key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    live = wait_for(f"the live copy s3://{bucket}/{live_key}", live_copy, timeout)

    def current_item():
        item = dynamodb.get_item(
            TableName=args["table"],
            Key={"pk": {"S": f"ENDPOINT#{endpoint}"}, "sk": {"S": f"MODEL#{model}"}},
            ConsistentRead=True,
        ).get("Item")
        return item if item and "currentTargetModel" in item else None

    registered = wait_for(f"the registry to name a current version of {model}", current_item, timeout)
    target_model = registered["currentTargetModel"]["S"]

    answer = runtime.invoke_endpoint(
        EndpointName=endpoint,
        TargetModel=target_model,
        ContentType="application/json",
        Accept="application/json",
        Body=json.dumps({"instances": args["rows"]}),
    )

    json.dump(
        {
            "execution": {
                "status": execution["status"],
                "output": json.loads(execution.get("output") or "null"),
                "error": execution.get("error"),
                "cause": execution.get("cause"),
            },
            "version": version,
            "liveKey": live_key,
            "liveBytes": live["ContentLength"],
            "targetModel": target_model,
            "currentVersion": registered["currentVersion"]["S"],
            "invoke": {
                "contentType": answer["ContentType"],
                "invokedProductionVariant": answer.get("InvokedProductionVariant"),
                "body": json.loads(answer["Body"].read()),
            },
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
