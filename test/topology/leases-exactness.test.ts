import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimiter, RedisStore } from '../../src/index.js';
import { pollUntil } from '../../support/admin.js';
import { RedisServer } from '../../support/redis-server.js';
import { closeServer, listenOn } from '../support/adapter-http.js';
import { AppProcess } from '../support/app-process.js';

const LIMIT = 5;
const WAVE = 50;
const PREFIX = `exact:${process.pid}:`;

/**
 * The exactness test: two Express app processes with `concurrency: { limit: 5 }` on one
 * Redis, each forwarding its admitted requests to one backend run here, which counts what is in
 * flight itself. Whatever the middleware claims, the backend must never see more than the limit.
 */
class Backend {
  inFlight = 0;
  maxInFlight = 0;
  served = 0;
  readonly server: Server = createServer((req, res) => {
    this.inFlight++;
    this.served++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const holdMs = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? '0');
    setTimeout(() => {
      this.inFlight--;
      res.end('done');
    }, holdMs);
  });
}

let redis: RedisServer;
let backend: Backend;
let apps: AppProcess[] = [];
let limiter: RateLimiter;

beforeAll(async () => {
  redis = await RedisServer.start();
  backend = new Backend();
  const backendUrl = await listenOn(backend.server);
  const env = { REDIS_URL: redis.url, LIMIT: String(LIMIT), PREFIX, BACKEND_URL: backendUrl };
  apps = await Promise.all([
    AppProcess.start('express-lease-app.js', env),
    AppProcess.start('express-lease-app.js', env),
  ]);
  limiter = new RateLimiter({ store: new RedisStore({ url: redis.url, timeoutMs: 2000 }) });
});

afterAll(async () => {
  await limiter.close();
  await Promise.all(apps.map((app) => app.stop()));
  await closeServer(backend.server);
  await redis.stop();
});

/** What a fresh acquire of nothing sees held of the apps' key. */
const heldNow = async () =>
  (await limiter.acquire({ key: `${PREFIX}slow`, limit: LIMIT, ttl: 1, cost: 0 })).inFlight;

/** 50 slow requests at once, alternating between the apps; each held 150..300 ms by the backend. */
async function wave(): Promise<{ status: number; retryAfter: string | null }[]> {
  return Promise.all(
    Array.from({ length: WAVE }, async (_, i) => {
      const app = apps[i % apps.length] as AppProcess;
      const response = await fetch(`${app.url}/slow?ms=${150 + ((i * 37) % 151)}`);
      await response.text();
      return { status: response.status, retryAfter: response.headers.get('retry-after') };
    }),
  );
}

describe('leases across two app processes on one Redis, measured by the backend', () => {
  it('never lets more than the limit in flight, reuses released slots and leaks nothing', async () => {
    let admitted = 0;
    for (let round = 0; round < 2; round++) {
      const answers = await wave();
      for (const { status, retryAfter } of answers) {
        expect([200, 429]).toContain(status);
        if (status === 429) expect(retryAfter).toMatch(/^\d+$/);
      }
      const passed = answers.filter((answer) => answer.status === 200).length;
      // The first five of a wave find the key empty; more only if a slot was released in time.
      expect(passed).toBeGreaterThanOrEqual(LIMIT);
      admitted += passed;
      expect(backend.maxInFlight).toBeLessThanOrEqual(LIMIT);
      // Each release follows its response: bounded wait until the last one lands (ttl is 10 s,
      // so an empty key within 5 s is releases, not expiries).
      await pollUntil('every lease released', async () => ((await heldNow()) === 0 ? true : undefined), 5000);
    }
    console.info(
      `lease exactness: ${JSON.stringify({ admitted, served: backend.served, max: backend.maxInFlight })}`,
    );
    expect(admitted).toBeGreaterThan(LIMIT);
    expect(backend.served).toBe(admitted);
    expect(await heldNow()).toBe(0);
  }, 30_000);
});
