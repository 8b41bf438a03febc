import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { parseCheck } from '../../src/core/validate.js';
import { DecisionReadiness, READINESS_PROBE_KEY, counterScriptCheck } from '../../src/readiness.js';
import type { Readiness, ReadinessCheck } from '../../src/readiness.js';
import { MemoryStore } from '../../src/stores/memory/memory-store.js';

function check(name: string, outcome: () => Error | undefined, runs: string[] = []): ReadinessCheck {
  return {
    name,
    run: () => {
      runs.push(name);
      const error = outcome();
      return error ? Promise.reject(error) : Promise.resolve();
    },
  };
}

describe('DecisionReadiness', () => {
  it('runs the checks in order and reports the first failure with its reason', async () => {
    const runs: string[] = [];
    const oom = new StoreUnavailableError('redis call failed: OOM: ...', { reason: 'oom' });
    const readiness = new DecisionReadiness([
      check('counter script', () => undefined, runs),
      check('node registry', () => oom, runs),
      check('never reached', () => undefined, runs),
    ]);
    expect(await readiness.probe()).toMatchObject({
      ready: false,
      check: 'node registry',
      reason: 'oom',
      message: 'redis call failed: OOM: ...',
    });
    expect(runs).toEqual(['counter script', 'node registry']);
  });

  it('tells of each change once, and shares one run between concurrent probes', async () => {
    let failure: Error | undefined;
    let runs = 0;
    const changes: [boolean, boolean | undefined][] = [];
    const readiness = new DecisionReadiness(
      [
        {
          name: 'store',
          run: () => {
            runs++;
            return failure ? Promise.reject(failure) : Promise.resolve();
          },
        },
      ],
      { onChange: (now: Readiness, before?: Readiness) => changes.push([now.ready, before?.ready]) },
    );
    await Promise.all([readiness.probe(), readiness.probe(), readiness.probe()]);
    expect(runs).toBe(1);
    failure = new Error('boom');
    expect(await readiness.probe()).toMatchObject({ ready: false, reason: 'error' });
    await readiness.probe();
    failure = undefined;
    await readiness.probe();
    expect(changes).toEqual([
      [true, undefined],
      [false, true],
      [true, false],
    ]);
  });

  it('probes with a zero-cost check that records nothing', async () => {
    const store = new MemoryStore();
    const probe = counterScriptCheck(store);
    await probe.run();
    await probe.run();
    const after = await store.check(parseCheck({ key: READINESS_PROBE_KEY, limit: 1, window: 1, cost: 0 }));
    await store.close();
    expect(after).toMatchObject({ allowed: true, count: 0 });
    expect(probe.name).toBe('counter script');
  });
});
