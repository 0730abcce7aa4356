/**
 * Actions that may be granted on `Resource: "*"`, each with the reason. Only actions AWS offers no
 * resource-level permission for belong here: for them a narrower `Resource` grants nothing, so `"*"` is the
 * least privilege. The template checks refuse an entry whose action the IAM actions list shows can be scoped.
 */
export const STAR_RESOURCE_ALLOWLIST: Readonly<Record<string, string>> = Object.freeze({
  'xray:PutTraceSegments': 'X-Ray defines no resource type: a function with active tracing sends segments for no ARN',
  'xray:PutTelemetryRecords': 'X-Ray defines no resource type: the tracing daemon reports its telemetry for no ARN',
  'ecr:GetAuthorizationToken':
    'issues a registry login token for the account, no repository; SageMaker execution roles need it to pull images',
  'sagemaker:ListEndpoints': 'List calls name no resource; status commands list endpoints to show what exists',
  'sagemaker:ListModels': 'List calls name no resource; clean-up after a failed deployment lists models by prefix',
  'sagemaker:ListEndpointConfigs':
    'List calls name no resource; clean-up after an update lists the endpoint configs it replaced',
  'sagemaker:ListTransformJobs': 'List calls name no resource; a scheduled run checks for a job already running',
  'states:ListStateMachines': 'List calls name no resource; the command line finds state machines by name',
});
