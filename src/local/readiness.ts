/**
 * Checks that every service of a running local stack answers through its edge, with the same SDK
 * clients the project uses: what `npm run local` waits for before printing `ready:`.
 */
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListQueuesCommand } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { ListEndpointsCommand } from '@aws-sdk/client-sagemaker';
import { ListStateMachinesCommand } from '@aws-sdk/client-sfn';
import { createClients } from '../aws/clients';

/** Raised when a service does not answer; names the service and the error it gave. */
export class ServiceNotReadyError extends Error {
  constructor(service: string, cause: unknown) {
    super(`the local ${service} does not answer: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'ServiceNotReadyError';
  }
}

/** Calls one cheap operation per service; resolves with the services that answered, throws on the first that did not. */
export async function probeServices(url: string, region: string, options: { sagemaker?: boolean; states?: boolean } = {}): Promise<string[]> {
  const clients = createClients({ endpoint: url, region, credentials: { accessKeyId: 'probe', secretAccessKey: 'probe' }, maxAttempts: 1 });
  const probes: Array<[string, () => Promise<unknown>]> = [
    ['s3', () => clients.s3.send(new ListBucketsCommand({}))],
    ['dynamodb', () => clients.dynamo.send(new ListTablesCommand({}))],
    ['sqs', () => clients.sqs.send(new ListQueuesCommand({}))],
    ['sts', () => clients.sts.send(new GetCallerIdentityCommand({}))],
  ];
  if (options.sagemaker) probes.push(['sagemaker', () => clients.sagemaker.send(new ListEndpointsCommand({}))]);
  if (options.states) probes.push(['states', () => clients.sfn.send(new ListStateMachinesCommand({}))]);
  try {
    for (const [service, probe] of probes) {
      try {
        await probe();
      } catch (error) {
        throw new ServiceNotReadyError(service, error);
      }
    }
    return probes.map(([service]) => service);
  } finally {
    for (const client of Object.values(clients)) client.destroy();
  }
}
