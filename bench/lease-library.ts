/**
 * The library half of `npm run bench leases` (bench/leases.ts has the HTTP half): a lease taken and
 * released (two calls, as a request of the middleware makes them) against a rate check (one call)
 * of the same key, on a MemoryStore and on a RedisStore over a private redis-server, side by side in
 * alternating rounds. Issue 16's target: on Redis, acquire+release at least 0.8 times the
 * throughput of a rate check.
 */
import { Redis } from 'ioredis';
import { MemoryStore, RateLimiter, RedisStore } from '../src/index.js';
import type { AlgorithmName } from '../src/index.js';
import { parseAcquire } from '../src/core/leases.js';
import { parseCheck } from '../src/core/validate.js';
import type { Knobs } from './knobs.js';
import { ratios } from './library.js';
import { interleavedRounds } from './rounds.js';
import type { Sample, Subject } from './rounds.js';
import { addCounts, formatCounts, formatNumber, formatSpread, printTable, spread } from './stats.js';
import type { Targets } from './targets.js';

const RANDOM_KEYS = 10_000;

interface Shape {
  label: string;
  key: (i: number) => string;
}

const SHAPES: readonly Shape[] = [
  { label: 'one hot key', key: () => 'bench:lease:hot' },
  {
    label: `${RANDOM_KEYS.toLocaleString('en-US')} random keys`,
    key: () => `bench:lease:${Math.floor(Math.random() * RANDOM_KEYS)}`,
  },
];

/** Rate checks that always admit, so both sides record: a limit no run reaches in its window. */
const RATE_ALGORITHMS: readonly AlgorithmName[] = ['sliding-window-log', 'fixed-window'];

function rateCheck(limiter: RateLimiter, shape: Shape, algorithm: AlgorithmName): Subject {
  return {
    name: `rate check, ${algorithm}`,
    op: async (i) => {
      const check = parseCheck({ key: shape.key(i), limit: 1e9, window: '1s', algorithm });
      return (await limiter.decide(check)).allowed ? 1 : 0;
    },
  };
}

/** One request's lease: acquired, then released. Every worker holds at most one at a time. */
function acquireRelease(limiter: RateLimiter, shape: Shape): Subject {
  return {
    name: 'acquire + release',
    op: async (i) => {
      const lease = parseAcquire({ key: shape.key(i), limit: 1_000_000, ttl: '30s' });
      const decision = await limiter.acquireLease(lease);
      if (decision.leaseId === undefined) return 0;
      await limiter.releaseLease({ key: lease.key, leaseId: decision.leaseId });
      return 1;
    },
  };
}

const median = (samples: readonly Sample[], pick: (sample: Sample) => number) =>
  spread(samples.map(pick)).median;

function printRounds(title: string, subjects: readonly Subject[], samples: readonly Sample[][]): void {
  const rate = samples[0] ?? [];
  const rows = subjects.map((subject, index) => {
    const own = samples[index] ?? [];
    const versus = ratios(own, rate);
    const redis = own.flatMap((sample) => (sample.redis ? [sample.redis] : []));
    return [
      subject.name,
      formatSpread(spread(own.map((sample) => sample.checksPerSecond)), 0),
      formatSpread(versus.throughput),
      formatNumber(
        median(own, (sample) => sample.p50Ms),
        2,
      ),
      formatNumber(
        median(own, (sample) => sample.p99Ms),
        2,
      ),
      `${formatNumber(100 * median(own, (sample) => sample.admittedShare), 1)} %`,
      formatCounts(own.reduce((all, sample) => addCounts(all, sample.errors), new Map<string, number>())),
      formatNumber(
        median(own, (sample) => sample.cpuUsPerCheck),
        1,
      ),
      formatSpread(versus.cpu),
      redis.length === 0 ? '' : formatNumber(spread(redis.map((each) => each.callsPerCheck)).median, 3),
      redis.length === 0 ? '' : formatNumber(spread(redis.map((each) => each.usPerCheck)).median, 1),
    ];
  });
  printTable(
    title,
    [
      { title: 'case' },
      { title: 'ops/s', align: 'right' },
      { title: 'x rate check', align: 'right' },
      { title: 'p50 ms', align: 'right' },
      { title: 'p99 ms', align: 'right' },
      { title: 'admitted', align: 'right' },
      { title: 'errors', align: 'right' },
      { title: 'CPU µs/op', align: 'right' },
      { title: 'x rate check by CPU', align: 'right' },
      { title: 'Redis calls/op', align: 'right' },
      { title: 'Redis µs/op', align: 'right' },
    ],
    rows,
  );
}

async function compare(
  storeName: string,
  limiter: RateLimiter,
  knobs: Knobs,
  targets: Targets,
  redisAdmin?: Redis,
): Promise<void> {
  for (const shape of SHAPES) {
    const subjects = [
      ...RATE_ALGORITHMS.map((algorithm) => rateCheck(limiter, shape, algorithm)),
      acquireRelease(limiter, shape),
    ];
    const samples = await interleavedRounds(subjects, { ...knobs, ...(redisAdmin ? { redisAdmin } : {}) });
    const how = `${knobs.inFlight} in flight, ${knobs.rounds} rounds of ${knobs.durationMs} ms per case`;
    printRounds(`${storeName}, ${shape.label}: ${how}`, subjects, samples);
    if (redisAdmin) {
      const versus = ratios(samples[subjects.length - 1] ?? [], samples[0] ?? []);
      targets.atLeast(`Redis acquire+release x check (library, issue 16), ${shape.label}`, 0.8, versus);
    }
  }
}

/** The library on a MemoryStore, then on a RedisStore over `redisUrl` (a throwaway server). */
export async function benchLeaseLibrary(knobs: Knobs, targets: Targets, redisUrl: string): Promise<void> {
  const memory = new RateLimiter({ store: new MemoryStore() });
  try {
    await compare('The library on a MemoryStore', memory, knobs, targets);
  } finally {
    await memory.close();
  }
  const store = new RedisStore({ url: redisUrl });
  const limiter = new RateLimiter({ store });
  const admin = new Redis(redisUrl);
  try {
    await store.connection.connected();
    await compare('The library on a RedisStore', limiter, knobs, targets, admin);
  } finally {
    await limiter.close();
    admin.disconnect();
  }
}
