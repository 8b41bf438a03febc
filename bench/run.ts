/**
 * npm run bench: checks/second of each store beside its baseline, measured in one run.
 * Memory store baseline: an async no-op call. Redis baseline: INCR on the same connection,
 * the cheapest atomic write, so the ratio shows what the script costs beyond a round trip.
 */
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { ALGORITHM_NAMES, MemoryStore, RateLimiter, RedisStore } from '../src/index.js';
import type { AlgorithmName } from '../src/index.js';
import { RedisServer } from '../test/support/redis-server.js';
import { printAccuracy } from './accuracy.js';
import { closedLoop, printTable } from './harness.js';
import { printMemoryPerKey } from './memory.js';
import type { LoadResult } from './harness.js';

const durationMs = Number(process.env.BENCH_DURATION_MS ?? 3000);
const inFlight = 200;
const RANDOM_KEYS = 100_000;

function keyCases(limiter: RateLimiter, algorithm: AlgorithmName, label: string) {
  return [
    {
      name: `${label} ${algorithm}, one key (limit 1000/s)`,
      op: () => limiter.check({ key: 'bench:hot', limit: 1000, window: 1, algorithm }),
    },
    {
      name: `${label} ${algorithm}, 100k random keys (limit 100/min)`,
      op: () =>
        limiter.check({
          key: `bench:key:${Math.floor(Math.random() * RANDOM_KEYS)}`,
          limit: 100,
          window: 60,
          algorithm,
        }),
    },
  ];
}

async function benchMemory(): Promise<void> {
  const store = new MemoryStore();
  const limiter = new RateLimiter({ store });
  const baseline = await closedLoop('memory baseline: async no-op', () => Promise.resolve(), {
    inFlight,
    durationMs,
  });
  const rows: LoadResult[] = [];
  for (const algorithm of ALGORITHM_NAMES) {
    for (const { name, op } of keyCases(limiter, algorithm, 'memory')) {
      rows.push(await closedLoop(name, op, { inFlight, durationMs }));
    }
  }
  printTable('MemoryStore (one process)', rows, baseline);
  await limiter.close();
}

async function benchRedis(): Promise<void> {
  const server = await RedisServer.start();
  const store = new RedisStore({ url: server.url, timeoutMs: 1000 });
  const limiter = new RateLimiter({ store });
  try {
    await store.ping();
    const client = store.client;
    const baseline = await closedLoop('redis baseline: INCR', () => client.incr('bench:incr'), {
      inFlight,
      durationMs,
    });
    const rows: LoadResult[] = [];
    for (const algorithm of ALGORITHM_NAMES) {
      for (const { name, op } of keyCases(limiter, algorithm, 'redis')) {
        rows.push(await closedLoop(name, op, { inFlight, durationMs }));
      }
    }
    printTable(`RedisStore (one connection, redis-server ${server.port} on loopback)`, rows, baseline);
    if (!(client instanceof Redis)) throw new Error('the bench starts a single node');
    await printMemoryPerKey(limiter, client);
  } finally {
    await limiter.close();
    await server.stop();
  }
}

console.log(
  `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown cpu'}, node ${process.version}; ` +
    `${inFlight} checks in flight, ${durationMs} ms per case`,
);
await benchMemory();
await benchRedis();
printAccuracy();
