/** ARNs in the form SageMaker gives them; names are lower-cased in ARNs, as the service does. */
export interface ArnContext {
  region: string;
  accountId: string;
}

export function sageMakerArn(ctx: ArnContext, kind: string, name: string): string {
  return `arn:aws:sagemaker:${ctx.region}:${ctx.accountId}:${kind}/${name.toLowerCase()}`;
}

/** The name in a resource ARN (`arn:...:model-package/group/3` → `group/3`), or the input if not an ARN. */
export function nameFromArn(value: string, kind: string): string {
  const match = new RegExp(`^arn:aws[a-z-]*:sagemaker:[^:]*:\\d{12}:${kind}/(.+)$`).exec(value);
  return match ? match[1]! : value;
}
