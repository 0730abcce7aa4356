import { describe, expect, it } from 'vitest';
import { WaitTimeoutError } from '../../src/cli/errors';
import { waitForUploadOutcome } from '../../src/cli/wait-for-upload';
import type { UploadOutcome } from '../../src/multimodel/registry';
import { stubRegistry } from './fakes';

function outcome(recordedAt: string, version = 'aaaaaaaaaaaaaaaa'): UploadOutcome {
  return { sourceKey: 'incoming/ep/m.tar.gz', sourceETag: 'e1', outcome: 'registered', version, recordedAt };
}

/** A clock that advances only when the wait sleeps, so the tests take no real time. */
function fakeClock() {
  let now = 1_700_000_000_000;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    sleeps,
  };
}

describe('Function: waitForUploadOutcome', () => {
  it('returns the outcome once it is recorded, polling at a growing interval', async () => {
    // Prepare
    const clock = fakeClock();
    const answers: (UploadOutcome | undefined)[] = [undefined, undefined, undefined, outcome('2030-01-01T00:00:00.000Z')];
    const registry = stubRegistry({ findUpload: async () => answers.shift() });

    // Act
    const found = await waitForUploadOutcome(registry, {
      key: 'incoming/ep/m.tar.gz',
      etag: '"e1"',
      storedAt: new Date(clock.now()),
      timeoutMs: 60_000,
      ...clock,
    });

    // Assess
    expect(found.version).toBe('aaaaaaaaaaaaaaaa');
    expect(clock.sleeps).toEqual([250, 375, 563]);
  });

  it('ignores an outcome recorded before the upload was stored (same bytes uploaded earlier)', async () => {
    // Prepare
    const clock = fakeClock();
    const stale = outcome(new Date(clock.now() - 5_000).toISOString(), 'bbbbbbbbbbbbbbbb');
    const fresh = outcome(new Date(clock.now() + 400).toISOString(), 'cccccccccccccccc');
    const answers = [stale, stale, fresh];
    const registry = stubRegistry({ findUpload: async () => answers.shift() });

    // Act
    const found = await waitForUploadOutcome(registry, { key: 'k', etag: 'e1', storedAt: new Date(clock.now()), timeoutMs: 60_000, ...clock });

    // Assess
    expect(found.version).toBe('cccccccccccccccc');
  });

  it('with a snapshot, takes any outcome other than the snapshot, whatever the clocks say', async () => {
    // Prepare
    const clock = fakeClock();
    const previous = outcome('2020-01-01T00:00:00.000Z', 'bbbbbbbbbbbbbbbb');
    const ours = outcome('2020-01-01T00:00:00.001Z', 'bbbbbbbbbbbbbbbb');
    const answers = [previous, ours];
    const registry = stubRegistry({ findUpload: async () => answers.shift() });

    // Act
    const found = await waitForUploadOutcome(registry, {
      key: 'k',
      etag: 'e1',
      storedAt: new Date(clock.now()),
      previous,
      timeoutMs: 60_000,
      ...clock,
    });

    // Assess
    expect(found).toBe(ours);
  });

  it('gives up with a WaitTimeoutError (exit 4) naming the key and ETag', async () => {
    // Prepare
    const clock = fakeClock();
    const registry = stubRegistry({ findUpload: async () => undefined });

    // Act
    const wait = waitForUploadOutcome(registry, { key: 'incoming/ep/m.tar.gz', etag: '"e1"', storedAt: new Date(), timeoutMs: 10_000, ...clock });

    // Assess
    await expect(wait).rejects.toThrow(WaitTimeoutError);
    await expect(
      waitForUploadOutcome(registry, { key: 'incoming/ep/m.tar.gz', etag: '"e1"', storedAt: new Date(), timeoutMs: 10_000, ...fakeClock() }),
    ).rejects.toMatchObject({ exitCode: 4, message: expect.stringContaining('incoming/ep/m.tar.gz (ETag e1) after 10 s') });
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(10_000);
  });
});
