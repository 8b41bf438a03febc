import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock, MemoryStore, RateLimiter } from '../../../src/index.js';
import type { FailurePolicyOptions, Store } from '../../../src/index.js';

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

/** A store that is always unreachable: what a RedisStore says once Redis is known to be down. */
export function limiterOnDeadRedis(store: Store, failurePolicy: FailurePolicyOptions): RateLimiter {
  return new RateLimiter({ store, failurePolicy });
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
