import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter, RedisStore, ServiceStore } from '../../src/index.js';
import { RedisServer } from '../../support/redis-server.js';
import { ServiceProcess, cleanEnv } from '../../support/service-process.js';

const HOLDER = fileURLToPath(new URL('../support/lease-holder.js', import.meta.url));
/** The bound: a crashed holder's units are free again within its ttl + 1 s. */
const CRASH_TOLERANCE_MS = 1000;

let redis: RedisServer;
const services: ServiceProcess[] = [];
const limiters: RateLimiter[] = [];

/** The library over a service process: what an application on another host would use. */
function overService(service: ServiceProcess): RateLimiter {
  // Thousands of calls may queue for a socket at once: the bound is for a stalled service, not a busy one.
  const store = new ServiceStore({ url: service.url, timeoutMs: 10_000, maxSockets: 64 });
  const limiter = new RateLimiter({ store });
  limiters.push(limiter);
  return limiter;
}

function onRedis(): RateLimiter {
  const limiter = new RateLimiter({ store: new RedisStore({ url: redis.url, timeoutMs: 5000 }) });
  limiters.push(limiter);
  return limiter;
}

beforeAll(async () => {
  redis = await RedisServer.start();
  // The service's own store timeout is generous: these tests are about exactness, not speed.
  const args = ['--redis', redis.url, '--failure-mode', 'closed', '--store-timeout-ms', '2000'];
  services.push(...(await Promise.all([ServiceProcess.start(args), ServiceProcess.start(args)])));
});

afterAll(async () => {
  await Promise.all(limiters.map((limiter) => limiter.close()));
  await Promise.all(services.map((service) => service.stop()));
  await redis.stop();
});

let serial = 0;
const freshKey = (label: string) => `leases-xp:${label}:${Date.now()}:${++serial}`;
const first = () => services[0] as ServiceProcess;
const second = () => services[1] as ServiceProcess;

describe('leases across processes (two services on one Redis)', () => {
  it('a lease taken on one service counts on the other, and is released there by its key', async () => {
    const [a, b] = [overService(first()), overService(second())];
    const key = freshKey('shared');
    const held = await a.acquire({ key, limit: 2, ttl: '30s', cost: 2 });
    expect(held).toMatchObject({ allowed: true, inFlight: 2 });
    expect(await b.acquire({ key, limit: 2, ttl: '30s' })).toMatchObject({ allowed: false, inFlight: 2 });
    const leaseId = held.leaseId as string;
    expect(await b.release({ key: freshKey('other'), leaseId })).toMatchObject({ released: false });
    expect(await b.release({ key, leaseId })).toEqual({ released: true, inFlight: 0, limit: 2 });
    expect(await a.acquire({ key, limit: 2, ttl: '30s' })).toMatchObject({ allowed: true, inFlight: 1 });
  });

  it('a burst of 4,000 acquires at once over both services and Redis admits exactly the limit', async () => {
    const key = freshKey('burst');
    const limit = 50;
    const callers = [overService(first()), overService(second()), onRedis()];
    const decisions = await Promise.all(
      Array.from({ length: 4000 }, (_, i) =>
        (callers[i % callers.length] as RateLimiter).acquire({ key, limit, ttl: '1m' }),
      ),
    );
    const admitted = decisions.filter((decision) => decision.allowed);
    expect(admitted).toHaveLength(limit);
    expect(new Set(admitted.map((decision) => decision.leaseId)).size).toBe(limit);
    expect(decisions.every((decision) => decision.inFlight <= limit)).toBe(true);
    expect(await onRedis().acquire({ key, limit, ttl: 1, cost: 0 })).toMatchObject({ inFlight: limit });
  });
});

/** The holder script: resolves with what it printed once it holds its leases. */
function startHolder(env: Record<string, string>): Promise<{
  child: ChildProcess;
  held: { leaseIds: string[]; acquiredAt: number };
}> {
  const child = spawn(process.execPath, [HOLDER], {
    env: cleanEnv({ REDIS_URL: redis.url, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the holder printed nothing within 10 s; stderr: ${stderr}`));
    }, 10_000);
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!stdout.includes('\n')) return;
      clearTimeout(timer);
      resolve({ child, held: JSON.parse(stdout) as { leaseIds: string[]; acquiredAt: number } });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the holder exited with ${code}; stderr: ${stderr}`));
    });
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => {
      resolve();
    });
    child.kill('SIGKILL');
  });
}

describe('a holder SIGKILLed while holding leases', () => {
  it('frees its units at the lease expiry, not before; a release with the wrong key frees nothing', async () => {
    const key = freshKey('crash');
    const ttlMs = 1500;
    const { child, held } = await startHolder({
      LEASE_KEY: key,
      LEASE_LIMIT: '3',
      LEASE_TTL: `${ttlMs}ms`,
      LEASE_COUNT: '3',
    });
    await killed(child);
    const library = onRedis();
    const service = overService(first());

    // Another process (a service) releasing with the wrong key frees nothing.
    for (const leaseId of held.leaseIds) {
      expect(await service.release({ key: freshKey('wrong'), leaseId })).toMatchObject({ released: false });
    }
    // Not before: the dead holder's units are still held, until the earliest expiry Redis names,
    // which is no later than the ttl after the holder had its leases (one machine, one clock).
    const asked = Date.now();
    const full = await library.acquire({ key, limit: 3, ttl: '1s' });
    expect(full).toMatchObject({ allowed: false, inFlight: 3 });
    expect(full.retryAfterMs).toBeGreaterThan(0);
    expect(asked + full.retryAfterMs).toBeLessThanOrEqual(held.acquiredAt + ttlMs + 1);

    // At the expiry: all three were taken within the same moment, so all three are free.
    await new Promise((resolve) => setTimeout(resolve, full.retryAfterMs + 50));
    const freed = await library.acquire({ key, limit: 3, ttl: '1s', cost: 3 });
    expect(freed).toMatchObject({ allowed: true, inFlight: 3 });
    expect(Date.now() - held.acquiredAt).toBeLessThanOrEqual(ttlMs + CRASH_TOLERANCE_MS);
  });
});
