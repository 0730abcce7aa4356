/**
 * Where each name and endpoint the command line uses came from (an option, a variable, or the stage), so an
 * error about a missing bucket or an unreachable endpoint can tell the user which setting to look at.
 */
import { DEFAULT_SERVICE, DEFAULT_STAGE } from '../aws/stack-names';
import type { GlobalOptions } from './context';

/** The settings behind the stack's resource names and the endpoint, with the source of each. */
export interface SettingOrigins {
  service: string;
  stage: string;
  /** `--stage prod`, `SMHOST_STAGE=prod` or `the default stage "dev"`. */
  stageFrom: string;
  /** The bucket set by `SMHOST_BUCKET`, when it is. */
  bucketVariable?: string;
  /** The table set by `SMHOST_REGISTRY_TABLE`, when it is. */
  tableVariable?: string;
  /** `--endpoint-url http://...`, `AWS_ENDPOINT_URL=http://...` (or a per-service variable), or undefined for AWS itself. */
  endpointFrom?: string;
}

/** Reads the origins from the global options and the environment the command runs with. */
export function settingOrigins(options: Pick<GlobalOptions, 'stage' | 'endpointUrl'>, env: NodeJS.ProcessEnv): SettingOrigins {
  const stage = options.stage ?? env.SMHOST_STAGE ?? DEFAULT_STAGE;
  const stageFrom =
    options.stage !== undefined
      ? `--stage ${options.stage}`
      : env.SMHOST_STAGE !== undefined
        ? `SMHOST_STAGE=${env.SMHOST_STAGE}`
        : `the default stage "${DEFAULT_STAGE}"`;
  return {
    service: env.SMHOST_SERVICE ?? DEFAULT_SERVICE,
    stage,
    stageFrom,
    ...(env.SMHOST_BUCKET ? { bucketVariable: env.SMHOST_BUCKET } : {}),
    ...(env.SMHOST_REGISTRY_TABLE ? { tableVariable: env.SMHOST_REGISTRY_TABLE } : {}),
    ...endpointOrigin(options, env),
  };
}

function endpointOrigin(options: Pick<GlobalOptions, 'endpointUrl'>, env: NodeJS.ProcessEnv): { endpointFrom?: string } {
  if (options.endpointUrl) return { endpointFrom: `--endpoint-url ${options.endpointUrl}` };
  if (env.AWS_ENDPOINT_URL) return { endpointFrom: `AWS_ENDPOINT_URL=${env.AWS_ENDPOINT_URL}` };
  // The SDK also reads one variable per service; name them all, since the failing one is not known here.
  const perService = Object.keys(env)
    .filter((name) => name.startsWith('AWS_ENDPOINT_URL_') && env[name])
    .sort();
  return perService.length > 0 ? { endpointFrom: perService.join(', ') } : {};
}

/** How a stage-derived name came to be: `stage "prod" (from --stage prod)`. */
export function stageClause(origins: SettingOrigins): string {
  return origins.stageFrom.startsWith('the default')
    ? `${origins.stageFrom} (set --stage or SMHOST_STAGE for another)`
    : `stage "${origins.stage}" (from ${origins.stageFrom})`;
}
