import { DEFAULT_COPY, DEFAULT_WARM_UP, type RegistrationConfig } from '../multimodel/config';
import type { MultiModelDeps } from '../multimodel/dependencies';
import type { CliContext } from './context';
import { CLI_LAYOUT } from './inputs';

/**
 * The dependencies the multi-model use cases (src/multimodel) take, built from the command line's
 * context: the same clients and registry, and the registration function's default settings (the CLI
 * works on the layout the deployed function uses by default).
 */
export async function useCaseDeps(context: CliContext): Promise<MultiModelDeps> {
  const config: RegistrationConfig = {
    bucket: await context.bucket(),
    registryTable: context.names.registryTable,
    incomingPrefix: CLI_LAYOUT.incomingPrefix,
    modelsPrefix: CLI_LAYOUT.modelsPrefix,
    archiveLimits: {},
    warmUp: DEFAULT_WARM_UP,
    copy: DEFAULT_COPY,
  };
  return {
    s3: context.clients.s3,
    registry: context.registry,
    sagemaker: context.clients.sagemaker,
    sagemakerRuntime: context.clients.sagemakerRuntime,
    config,
  };
}
