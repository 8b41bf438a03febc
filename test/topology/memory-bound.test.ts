import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess, rssMb } from '../../support/service-process.js';

/**
 * Issue 9, items 1 and 2, on the real service with the memory store: the bomb that used to grow
 * RSS by ~140 MB/s until the heap ran out, and the flood of new keys that used to evict a denied
 * client's counter. The heap is capped low so that an unbounded store would crash within the test.
 */
describe('memory store bound under a hostile load', () => {
  let service: ServiceProcess;

  beforeAll(async () => {
    service = await ServiceProcess.start(['--memory-max-mb', '24', '--max-in-flight', '10000'], {
      NODE_OPTIONS: '--max-old-space-size=160',
    });
  });

  afterAll(async () => {
    await service.stop('SIGKILL');
  });

  async function blast(count: number, body: (i: number) => unknown, inFlight = 32): Promise<number[]> {
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < count) {
          const i = next++;
          const response = await service.postJson('/v1/checks', body(i));
          statuses.push(response.status);
          await response.arrayBuffer();
        }
      }),
    );
    return statuses;
  }

  it('stays within its bound and keeps a denied client denied', async () => {
    const victim = { key: 'victim:alice', limit: 3, window: '1h' };
    for (let i = 0; i < 3; i++) await service.postJson('/v1/check', victim);
    const denied = (await (await service.postJson('/v1/check', victim)).json()) as { allowed: boolean };
    expect(denied.allowed).toBe(false);

    // 2,000 batches of 100 new keys, each the bomb: limit 100,000, cost 10,000, 366 days.
    const statuses = await blast(2000, (i) => ({
      checks: Array.from({ length: 100 }, (_, j) => ({
        key: `bomb:${i}:${j}`,
        limit: 100_000,
        window: '366d',
        cost: 10_000,
      })),
    }));
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect((await service.fetch('/healthz')).status).toBe(200);

    const metrics = await (await service.fetch('/metrics')).text();
    const evictions = Number(/^ratelimiter_memory_evictions_total (\d+)/m.exec(metrics)?.[1]);
    const counters = Number(/^ratelimiter_memory_counters (\d+)/m.exec(metrics)?.[1]);
    // 200,000 counters were asked for; about 24 MB of them fit.
    expect(evictions).toBeGreaterThan(50_000);
    expect(counters).toBeLessThan(150_000);
    expect(rssMb(service.pid)).toBeLessThan(400);
    const after = (await (await service.postJson('/v1/check', victim)).json()) as { allowed: boolean };
    expect(after.allowed).toBe(false);
  });
});
