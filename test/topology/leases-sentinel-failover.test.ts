import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter, RedisStore, StoreUnavailableError } from '../../src/index.js';
import type { LeaseDecision } from '../../src/index.js';
import { pollUntil } from '../../support/admin.js';
import { RedisSentinelHarness } from '../../support/redis-sentinel.js';

/**
 * Leases across a Redis failover (SENTINEL FAILOVER) on master + replica + sentinel: what was
 * replicated before the switch is still held on the new master, releases and renewals work there,
 * and during the switch each failure mode does what docs/concurrency.md says.
 */
const LIMIT = 5;
const TTL = '30s';
const run = `${process.pid}:${Date.now()}`;
const HELD = `failover:held:${run}`;
const SWITCH = `failover:switch:${run}`;
/** Large enough that the acquires during the switch are never denied: only failures matter there. */
const SWITCH_LIMIT = 100_000;

type Outcome = 'lease' | 'degraded' | 'refused' | 'other';

let sentinel: RedisSentinelHarness;
let closed: RateLimiter;
let open: RateLimiter;
const heldIds: string[] = [];
/** Leases of the switch key granted before the failover and acknowledged by the replica. */
let acknowledged = 0;
const outcomes: Record<'closed' | 'open', Record<Outcome, number>> = {
  closed: { lease: 0, degraded: 0, refused: 0, other: 0 },
  open: { lease: 0, degraded: 0, refused: 0, other: 0 },
};
const odd: unknown[] = [];

function classify(decision: LeaseDecision): Outcome {
  if (decision.allowed && decision.leaseId !== undefined && decision.degraded === undefined) return 'lease';
  if (decision.allowed && decision.leaseId === undefined && decision.degraded === true) return 'degraded';
  odd.push(decision);
  return 'other';
}

/** Acquires on both limiters until `done` (or `count` rounds); each outcome tallied by mode. */
async function acquiresUntil(done: () => boolean, count = 1500): Promise<void> {
  for (let i = 0; i < count && !done(); i++) {
    await Promise.all(
      (['closed', 'open'] as const).map(async (mode) => {
        const limiter = mode === 'closed' ? closed : open;
        const outcome = await limiter
          .acquire({ key: SWITCH, limit: SWITCH_LIMIT, ttl: TTL })
          .then(classify, (error: unknown) => {
            if (error instanceof StoreUnavailableError) return 'refused' as const;
            odd.push(error);
            return 'other' as const;
          });
        outcomes[mode][outcome]++;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeAll(async () => {
  sentinel = await RedisSentinelHarness.start();
  const limiter = (mode: 'closed' | 'open') =>
    new RateLimiter({
      store: new RedisStore({ url: sentinel.url, timeoutMs: 250 }),
      failurePolicy: { mode },
    });
  [closed, open] = [limiter('closed'), limiter('open')];

  for (let i = 0; i < 3; i++) {
    const decision = await closed.acquire({ key: HELD, limit: LIMIT, ttl: TTL });
    heldIds.push(decision.leaseId as string);
  }
  // Leases on the switch key before the failover, then acknowledged by the replica.
  await acquiresUntil(() => false, 10);
  acknowledged = outcomes.closed.lease + outcomes.open.lease;
  // Replication is in order: once the replica has acknowledged a later write, it has the leases.
  const master = await sentinel.masterPort();
  await sentinel.command(master, 'SET', `marker:${run}`, '1');
  expect(Number(await sentinel.command(master, 'WAIT', 1, 5000))).toBe(1);

  let done = false;
  const traffic = acquiresUntil(() => done);
  const promoted = await sentinel.failover('graceful');
  done = true;
  await traffic;
  expect(await sentinel.masterPort()).toBe(promoted);
  // The clients follow +switch-master; wait (bounded) until a lease each takes lands on the new
  // master (an answer alone could still come from the old one, a master until Sentinel converts it).
  let probes = 0;
  for (const limiter of [closed, open]) {
    await pollUntil(
      'the limiter on the new master',
      async () => {
        const probe = `probe:${run}:${++probes}`;
        const decision = await limiter.acquire({ key: probe, limit: 1, ttl: 1 });
        if (decision.degraded === true) return undefined;
        const written = (await sentinel.command(promoted, 'KEYS', `*{${probe}}*`)) as string[];
        return written.length > 0 ? true : undefined;
      },
      10_000,
    );
  }
}, 40_000);

afterAll(async () => {
  await closed.close();
  await open.close();
  await sentinel.stop();
});

describe('leases across a Sentinel failover', () => {
  it('leases replicated before the switch are held on the new master; release and renew work there', async () => {
    expect(await closed.acquire({ key: HELD, limit: LIMIT, ttl: TTL, cost: 0 })).toMatchObject({
      inFlight: 3,
    });
    // No over-admission: exactly the two free units are admitted, then the key is full.
    expect(await closed.acquire({ key: HELD, limit: LIMIT, ttl: TTL, cost: 2 })).toMatchObject({
      allowed: true,
      inFlight: 5,
    });
    expect(await open.acquire({ key: HELD, limit: LIMIT, ttl: TTL })).toMatchObject({
      allowed: false,
      inFlight: 5,
    });
    const [released, renewed] = heldIds;
    expect(await closed.release({ key: HELD, leaseId: released as string })).toMatchObject({
      released: true,
    });
    expect(await closed.release({ key: HELD, leaseId: released as string })).toMatchObject({
      released: false,
    });
    expect(await open.renew({ key: HELD, leaseId: renewed as string, ttl: '1m' })).toMatchObject({
      renewed: true,
      expiresInMs: 60_000,
    });
    expect(await closed.acquire({ key: HELD, limit: LIMIT, ttl: TTL })).toMatchObject({
      allowed: true,
      inFlight: 5,
    });
  });

  it('during the switch: closed refuses, open admits without a lease (degraded); nothing else', () => {
    console.info(`leases during a sentinel failover: ${JSON.stringify(outcomes)}`);
    expect(odd).toEqual([]);
    expect(outcomes.closed.degraded).toBe(0);
    expect(outcomes.open.refused).toBe(0);
    expect(outcomes.closed.lease + outcomes.open.lease).toBeGreaterThan(0);
  });

  it('the new master holds every lease the replica acknowledged, and none that was not granted', async () => {
    const granted = outcomes.closed.lease + outcomes.open.lease;
    const { inFlight } = await closed.acquire({ key: SWITCH, limit: SWITCH_LIMIT, ttl: TTL, cost: 0 });
    console.info(
      `switch key: granted ${granted} (${acknowledged} acknowledged by the replica before the failover), held on the new master ${inFlight}, lost ${granted - inFlight}`,
    );
    expect(inFlight).toBeLessThanOrEqual(granted);
    // The bound: what the replica had acknowledged survives; only leases the old master admitted
    // after that (up to the clients' switch) can be lost.
    expect(inFlight).toBeGreaterThanOrEqual(acknowledged);
  });
});
