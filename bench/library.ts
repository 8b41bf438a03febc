/**
 * The library against rate-limiter-flexible, side by side in one run: every algorithm of ours
 * (RateLimiter.check) on a RedisStore beside RateLimiterRedis.consume and beside our own scripts
 * driven raw, all on one private redis-server; then on a MemoryStore beside RateLimiterMemory.
 * Each store and peer is constructed with its defaults, as a user would.
 */
import { Redis } from 'ioredis';
import { ALGORITHM_NAMES, MemoryStore, RateLimiter, RedisStore } from '../src/index.js';
import type { AlgorithmName } from '../src/index.js';
import { parseCheck } from '../src/core/validate.js';
import { RedisServer } from '../support/redis-server.js';
import type { Knobs } from './knobs.js';
import { PEER, peerInMemory, peerOnRedis } from './peer.js';
import type { PeerLimit } from './peer.js';
import { callShapes, rawCheckScript } from './raw-scripts.js';
import type { CallShape } from './raw-scripts.js';
import { interleavedRounds } from './rounds.js';
import type { Sample, Subject } from './rounds.js';
import {
  addCounts,
  formatCounts,
  formatNumber,
  formatSpread,
  pairedRatios,
  printTable,
  spread,
} from './stats.js';
import type { Spread } from './stats.js';
import type { Targets } from './targets.js';

const RANDOM_KEYS = 100_000;
/** Precomputed checks the raw driver cycles through for the random-key case. */
const RAW_POOL = 65_536;

interface Shape extends PeerLimit {
  label: string;
  key: (i: number) => string;
  /** For the targets: the targets are stated on the random keys. */
  random: boolean;
}

const SHAPES: readonly Shape[] = [
  { label: 'one hot key, limit 1,000/s', limit: 1000, windowS: 1, key: () => 'bench:hot', random: false },
  {
    label: '100k random keys, limit 100/min',
    limit: 100,
    windowS: 60,
    key: () => `bench:key:${Math.floor(Math.random() * RANDOM_KEYS)}`,
    random: true,
  },
];

/** Issue 19's targets on Redis (100k random keys), as ratios to RateLimiterRedis: nothing lost. */
const REDIS_GOALS: Partial<Record<AlgorithmName, number>> = { 'sliding-window-log': 1.4, 'fixed-window': 2 };
/** Issue 19's MemoryStore targets, as ratios to RateLimiterMemory. */
const MEMORY_GOALS: Partial<Record<AlgorithmName, number>> = { 'fixed-window': 1, 'sliding-window-log': 1 };

function ours(limiter: RateLimiter, shape: Shape, algorithm: AlgorithmName): Subject {
  const { limit, windowS: window, key } = shape;
  return {
    name: `ours ${algorithm}`,
    op: async (i) => ((await limiter.check({ key: key(i), limit, window, algorithm })).allowed ? 1 : 0),
  };
}

function rawName(algorithm: AlgorithmName, { checksPerCall, callsInFlight }: CallShape): string {
  if (checksPerCall === 1) return `raw check script, ${algorithm}`;
  return `raw check script, ${algorithm}, ${checksPerCall} checks per call, ${callsInFlight} calls in flight`;
}

const throughput = (samples: readonly Sample[]) => samples.map((sample) => sample.checksPerSecond);
const cpuPerCheck = (samples: readonly Sample[]) => samples.map((sample) => sample.cpuUsPerCheck);
const medianOf = (samples: readonly Sample[], pick: (sample: Sample) => number) =>
  spread(samples.map(pick)).median;

/** Round by round: how many times the throughput of `own` is that of `other`, and by CPU per check. */
export function ratios(
  own: readonly Sample[],
  other: readonly Sample[],
): { throughput: Spread; cpu: Spread } {
  return {
    throughput: spread(pairedRatios(throughput(own), throughput(other))),
    // Inverted: a check that costs less CPU is worth more.
    cpu: spread(pairedRatios(cpuPerCheck(other), cpuPerCheck(own))),
  };
}

/** One row per subject: throughput, ratios to the peer (and to the raw script), latency, errors, CPU. */
function printThroughput(
  title: string,
  subjects: readonly Subject[],
  samples: readonly Sample[][],
  ceilingOf: (index: number) => number | undefined,
): void {
  const peer = samples[0] ?? [];
  const rows = subjects.map((subject, index) => {
    const own = samples[index] ?? [];
    const ceiling = ceilingOf(index);
    const vsPeer = ratios(own, peer);
    const vsRaw = ceiling === undefined ? undefined : ratios(own, samples[ceiling] ?? []);
    return [
      subject.name,
      formatSpread(spread(throughput(own)), 0),
      formatSpread(vsPeer.throughput),
      vsRaw ? formatSpread(vsRaw.throughput) : '',
      formatNumber(
        medianOf(own, (sample) => sample.p50Ms),
        2,
      ),
      formatNumber(
        medianOf(own, (sample) => sample.p99Ms),
        2,
      ),
      `${formatNumber(100 * medianOf(own, (sample) => sample.admittedShare), 1)} %`,
      formatCounts(own.reduce((all, sample) => addCounts(all, sample.errors), new Map<string, number>())),
      formatNumber(
        medianOf(own, (sample) => sample.cpuUsPerCheck),
        1,
      ),
      formatSpread(vsPeer.cpu),
      vsRaw ? formatSpread(vsRaw.cpu) : '',
    ];
  });
  printTable(
    title,
    [
      { title: 'case' },
      { title: 'checks/s', align: 'right' },
      { title: `x ${PEER}`, align: 'right' },
      { title: 'x raw script', align: 'right' },
      { title: 'p50 ms', align: 'right' },
      { title: 'p99 ms', align: 'right' },
      { title: 'admitted', align: 'right' },
      { title: 'errors', align: 'right' },
      { title: 'CPU µs/check', align: 'right' },
      { title: `x ${PEER} by CPU`, align: 'right' },
      { title: 'x raw by CPU', align: 'right' },
    ],
    rows,
  );
}

function printRedisCosts(title: string, subjects: readonly Subject[], samples: readonly Sample[][]): void {
  const rows = subjects.map((subject, index) => {
    const own = (samples[index] ?? []).flatMap((sample) => (sample.redis ? [sample.redis] : []));
    const at = (pick: (redis: NonNullable<Sample['redis']>) => number, digits: number) =>
      formatNumber(spread(own.map(pick)).median, digits);
    return [
      subject.name,
      [...new Set(own.flatMap((redis) => redis.commands))].join(', '),
      at((redis) => redis.usPerCall, 1),
      at((redis) => redis.callsPerCheck, 3),
      at((redis) => redis.usPerCheck, 1),
      at((redis) => redis.serverCpuUsPerCheck, 1),
      formatNumber(
        medianOf(samples[index] ?? [], (sample) => sample.nodeCpuUsPerCheck),
        1,
      ),
    ];
  });
  printTable(
    title,
    [
      { title: 'case' },
      { title: 'entry commands' },
      { title: 'Redis µs/call', align: 'right' },
      { title: 'calls/check', align: 'right' },
      { title: 'Redis µs/check', align: 'right' },
      { title: 'redis-server CPU µs/check', align: 'right' },
      { title: 'Node CPU µs/check', align: 'right' },
    ],
    rows,
  );
}

function how(knobs: Knobs): string {
  return `${knobs.inFlight} checks in flight, ${knobs.rounds} rounds of ${knobs.durationMs} ms per case`;
}

export async function benchLibraryOnRedis(knobs: Knobs, targets: Targets): Promise<void> {
  const server = await RedisServer.start();
  const store = new RedisStore({ url: server.url });
  const limiter = new RateLimiter({ store });
  const peerClient = new Redis(server.url);
  const rawClient = new Redis(server.url);
  const admin = new Redis(server.url);
  try {
    for (const shape of SHAPES) {
      const peer = peerOnRedis(peerClient, shape, shape.key);
      const library = ALGORITHM_NAMES.map((algorithm) => ours(limiter, shape, algorithm));
      const callShapesNow = callShapes(knobs.inFlight);
      // Per algorithm, one raw subject per call shape; the last shape is the library's own.
      const raw: Subject[][] = await Promise.all(
        ALGORITHM_NAMES.map((algorithm) => {
          const pool = Array.from({ length: shape.random ? RAW_POOL : 1 }, (_, i) =>
            parseCheck({ key: shape.key(i), limit: shape.limit, window: shape.windowS, algorithm }),
          );
          return Promise.all(
            callShapesNow.map((call) =>
              rawCheckScript(rawClient, store, rawName(algorithm, call), pool, call),
            ),
          );
        }),
      );
      const subjects = [peer, ...library, ...raw.flat()];
      const samples = await interleavedRounds(subjects, { ...knobs, redisAdmin: admin });
      const ceilingOf = (index: number) => {
        const offset = library.indexOf(subjects[index] as Subject);
        const ceiling = raw[offset]?.at(-1);
        return offset < 0 || !ceiling ? undefined : subjects.indexOf(ceiling);
      };
      printThroughput(`Redis, ${shape.label}: ${how(knobs)}`, subjects, samples, ceilingOf);
      printRedisCosts(`Redis cost per check, ${shape.label} (medians of the rounds)`, subjects, samples);
      if (!shape.random) continue;
      for (const [offset, algorithm] of ALGORITHM_NAMES.entries()) {
        const own = samples[1 + offset] ?? [];
        const goal = REDIS_GOALS[algorithm];
        const name = `Redis ${algorithm} x ${PEER}, 100k keys`;
        if (goal !== undefined) targets.atLeast(name, goal, ratios(own, samples[0] ?? []));
        const ceiling = ratios(own, samples[ceilingOf(1 + offset) ?? -1] ?? []);
        targets.atLeast(`Redis ${algorithm} x its raw script, 100k keys`, 0.9, ceiling);
      }
    }
  } finally {
    await limiter.close();
    peerClient.disconnect();
    rawClient.disconnect();
    admin.disconnect();
    await server.stop();
  }
}

export async function benchLibraryInMemory(knobs: Knobs, targets: Targets): Promise<void> {
  // One store per algorithm and shape, as the peer has one limiter per case: a store shared by
  // every case would hold four times the peer's counters in one map.
  const limiters: RateLimiter[] = [];
  const limiterFor = () => {
    const limiter = new RateLimiter({ store: new MemoryStore() });
    limiters.push(limiter);
    return limiter;
  };
  try {
    for (const shape of SHAPES) {
      const subjects = [
        peerInMemory(shape, shape.key),
        ...ALGORITHM_NAMES.map((algorithm) => ours(limiterFor(), shape, algorithm)),
      ];
      const samples = await interleavedRounds(subjects, knobs);
      printThroughput(`MemoryStore, ${shape.label}: ${how(knobs)}`, subjects, samples, () => undefined);
      for (const [offset, algorithm] of ALGORITHM_NAMES.entries()) {
        const goal = MEMORY_GOALS[algorithm];
        if (goal === undefined) continue;
        const ratio = ratios(samples[1 + offset] ?? [], samples[0] ?? []);
        targets.atLeast(`MemoryStore ${algorithm} x ${PEER}, ${shape.label}`, goal, ratio);
      }
    }
  } finally {
    await Promise.all(limiters.map((limiter) => limiter.close()));
  }
}
