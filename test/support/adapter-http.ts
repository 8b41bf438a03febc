import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { ManualClock, MemoryStore, RateLimiter, RedisStore } from '../../src/index.js';
import type { FailureMode, FailurePolicyOptions } from '../../src/index.js';
import { freePort } from '../../support/redis-server.js';

/** One HTTP answer, read whole. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

export async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** `count` requests at once; their statuses, in order. */
export async function burst(url: string, count: number, init: RequestInit = {}): Promise<number[]> {
  return Promise.all(Array.from({ length: count }, () => request(url, init).then((answer) => answer.status)));
}

export function tally(statuses: readonly number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}

/** Listen on a free loopback port; the base URL. */
export async function listenOn(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
}

/** A limiter on a fresh MemoryStore driven by a manual clock: windows pass when the test says so. */
export function memoryLimiter(failurePolicy?: FailurePolicyOptions): {
  limiter: RateLimiter;
  clock: ManualClock;
} {
  const clock = new ManualClock();
  return {
    limiter: new RateLimiter({
      store: new MemoryStore({ clock }),
      ...(failurePolicy ? { failurePolicy } : {}),
    }),
    clock,
  };
}

/**
 * Limiters on a Redis nobody listens on (a free port): every call fails as a RedisStore fails once
 * Redis is known to be down. `opened` collects them for afterAll; `closeAll` closes them.
 */
export class DeadRedisLimiters {
  private readonly opened: RateLimiter[] = [];

  async open(mode: FailureMode): Promise<RateLimiter> {
    const store = new RedisStore({ url: `redis://127.0.0.1:${await freePort()}`, timeoutMs: 200 });
    const limiter = new RateLimiter({ store, failurePolicy: { mode } });
    this.opened.push(limiter);
    return limiter;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.opened.splice(0).map((limiter) => limiter.close()));
  }
}

/** Poll until `probe` holds; refunds run after the response, so tests wait on state, not on time. */
export async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * What @fastify/rate-limit and @nestjs/throttler apps in these tests promise after the store swap:
 * `/ok` at 2 per minute and `/login` at 1, with their X-RateLimit headers, their 429 body
 * (`deniedBody`) and Retry-After, and a fresh quota once the window has passed.
 */
export async function expectPeerLimits(url: string, clock: ManualClock, deniedBody: object): Promise<void> {
  const first = await request(`${url}/ok`);
  expect(first.status).toBe(200);
  const limits = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'];
  expect(limits.map((name) => first.headers.get(name))).toEqual(['2', '1', '60']);
  await request(`${url}/ok`);
  const denied = await request(`${url}/ok`);
  expect(denied.status).toBe(429);
  expect(denied.json).toMatchObject(deniedBody);
  expect(denied.headers.get('retry-after')).toBe('60');
  expect((await request(`${url}/login`)).status).toBe(200);
  expect((await request(`${url}/login`)).status).toBe(429);
  clock.advanceMs(60_000);
  expect((await request(`${url}/ok`)).status).toBe(200);
}
