import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand } from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand } from '@aws-sdk/client-sagemaker-runtime';
import { ECHO_CONTAINER, ROLE, startStack, waitForEndpoint, type TestStack } from './support';

let stack: TestStack;
let mapDir: string;


beforeAll(async () => {
  mapDir = mkdtempSync(join(tmpdir(), 'sm-image-map-'));
  const imageMap = join(mapDir, 'image-map.json');
  writeFileSync(imageMap, JSON.stringify({ images: { 'local/echo:1': { command: [process.execPath, '-e', ECHO_CONTAINER] } } }));
  stack = await startStack({ imageMapFile: imageMap });
  await stack.sagemaker.send(new CreateModelCommand({ ModelName: 'echo', ExecutionRoleArn: ROLE, PrimaryContainer: { Image: 'local/echo:1' } }));
  await stack.sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: 'echo',
      ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'echo', InitialInstanceCount: 1, InstanceType: 'ml.t2.medium' }],
    }),
  );
  await stack.sagemaker.send(new CreateEndpointCommand({ EndpointName: 'echo', EndpointConfigName: 'echo' }));
  await waitForEndpoint(stack.sagemaker, 'echo', ['InService']);
});

afterAll(async () => {
  await stack?.stop();
  rmSync(mapDir, { recursive: true, force: true });
});

describe('Function: InvokeEndpoint (payload bytes)', () => {
  it('carries every byte value both ways unchanged, for payloads small and large', async () => {
    // Prepare: every byte value, at sizes on either side of the runtime's and the client's one-write limits.
    const payloads = [256, 16 * 1024, 16 * 1024 + 1, 70 * 1024, 1024 * 1024].map((size) => Buffer.from(Array.from({ length: size }, (_, i) => (i * 7 + 3) % 256)));

    // Act
    const answers = [];
    for (const body of payloads) {
      answers.push(await stack.runtime.send(new InvokeEndpointCommand({ EndpointName: 'echo', Body: body, ContentType: 'application/x-custom; v=1' })));
    }

    // Assess
    answers.forEach((answer, i) => {
      expect(Buffer.from(answer.Body!).equals(payloads[i]!), `payload of ${payloads[i]!.length} bytes`).toBe(true);
      expect(answer.ContentType).toBe('application/x-custom; v=1');
      expect(answer.CustomAttributes).toBe(`echoed ${payloads[i]!.length}`);
      expect(answer.InvokedProductionVariant).toBe('AllTraffic');
    });
  });
});
