/**
 * A CloudFormation value could not be evaluated (by the offline template checks, or by the local stack reading
 * `serverless.yml`): an unknown intrinsic, a reference to nothing, an attribute without a known shape. `path`
 * locates the value in the template (`Resources.X.Properties.Y`, `resources.Resources.X...` in serverless.yml).
 */
export class TemplateEvaluationError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'TemplateEvaluationError';
  }
}

/** A template given to the checks is not a CloudFormation template at all (no `Resources` object, ...). */
export class InvalidTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTemplateError';
  }
}
