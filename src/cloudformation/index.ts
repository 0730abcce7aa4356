/**
 * CloudFormation templates without CloudFormation: their outline, and the evaluation of their intrinsic
 * functions with values shaped as AWS answers them. Used by the offline template checks (src/deploy) and by the
 * local stack reading `serverless.yml` (src/local/serverless).
 */
export * from './errors';
export * from './intrinsics';
export * from './resource-shapes';
export * from './template';
