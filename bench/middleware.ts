/**
 * `npm run bench:middleware`: requests/s of an Express and a Fastify app with our middleware (memory
 * and Redis) beside the same app with the peer library (express-rate-limit's MemoryStore and
 * rate-limit-redis; @fastify/rate-limit's local and Redis stores) and with no limiter at all, in one
 * run. Each app is its own process; autocannon runs in this one; targets take turns in rounds.
 * Keys cycle through 10,000 values (limit 100 per minute each), so nearly every request is admitted.
 */
import { startChildServer } from './child-server.js';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { median } from './harness.js';
import { RedisServer } from '../support/redis-server.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const KEYS = 10_000;

interface Target {
  framework: string;
  limiter: string;
  label: string;
  url: string;
  stop(): Promise<unknown>;
}

const LIMITERS = [
  ['none', 'no limiter'],
  ['ours-memory', 'ours, MemoryStore'],
  ['peer-memory', 'peer, local store'],
  ['ours-redis', 'ours, RedisStore'],
  ['peer-redis', 'peer, Redis store'],
  // The peers count fixed windows; this is ours on the same algorithm, for a like-for-like ratio.
  ['ours-redis-fixed', 'ours, RedisStore, fixed-window'],
] as const;

const PEER_NAMES: Record<string, Record<string, string>> = {
  express: {
    'peer-memory': 'express-rate-limit MemoryStore',
    'peer-redis': 'express-rate-limit + rate-limit-redis',
  },
  fastify: { 'peer-memory': '@fastify/rate-limit local', 'peer-redis': '@fastify/rate-limit Redis' },
};

async function startApp(
  framework: string,
  limiter: string,
  label: string,
  redisUrl: string,
): Promise<Target> {
  const server = await startChildServer(
    new URL('./middleware-app.ts', import.meta.url),
    `${framework} ${limiter}`,
    {
      FRAMEWORK: framework,
      LIMITER: limiter,
      REDIS_URL: redisUrl,
    },
  );
  return {
    framework,
    limiter,
    label: PEER_NAMES[framework]?.[limiter] ?? label,
    url: server.url,
    stop: () => server.stop(),
  };
}

interface Round {
  requestsPerSecond: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

async function measure(target: Target, durationS: number): Promise<Round> {
  let serial = 0;
  const result = await autocannon({
    url: target.url,
    connections: CONNECTIONS,
    duration: durationS,
    requests: [
      {
        method: 'GET',
        path: '/',
        setupRequest: (request) => {
          serial = (serial + 1) % KEYS;
          return { ...request, headers: { ...request.headers, 'x-key': `user:${serial}` } };
        },
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

const redis = await RedisServer.start();
const targets: Target[] = [];
try {
  // BENCH_FRAMEWORKS=fastify and BENCH_LIMITERS=none,ours-redis,peer-redis narrow a run.
  const frameworks = (process.env.BENCH_FRAMEWORKS ?? 'express,fastify').split(',');
  const chosen = process.env.BENCH_LIMITERS?.split(',');
  for (const framework of frameworks) {
    for (const [limiter, label] of LIMITERS.filter(([name]) => !chosen || chosen.includes(name)))
      targets.push(await startApp(framework, limiter, label, redis.url));
  }
  for (const target of targets) await measure(target, 1); // warm-up: JIT, connections, scripts
  const rounds: Round[][] = targets.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, target] of targets.entries())
      rounds[index]?.push(await measure(target, DURATION_S / ROUNDS));
  }
  console.log(
    `\nGET / with one limit (100/min, 10,000 keys), ${CONNECTIONS} connections, ${DURATION_S} s per target in ${ROUNDS} interleaved rounds (medians; ratios are medians of per-round ratios), ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}\n`,
  );
  console.log(
    '| framework | limiter | requests/s | vs no limiter | ours / peer | p99 ms | non-2xx | errors |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  const rps = targets.map((_, index) =>
    median((rounds[index] ?? []).map((round) => round.requestsPerSecond)),
  );
  for (const [index, target] of targets.entries()) {
    const baseline = targets.findIndex(
      (other) => other.framework === target.framework && other.limiter === 'none',
    );
    const peerOf = target.limiter.startsWith('ours')
      ? target.limiter.replace('ours', 'peer').replace('-fixed', '')
      : '';
    const peer = targets.findIndex(
      (other) => other.framework === target.framework && other.limiter === peerOf,
    );
    const mine = rps[index] ?? Number.NaN;
    const list = rounds[index] ?? [];
    // Per round, then the median: targets of one framework run back to back in each round, so load
    // from elsewhere on the machine falls on both sides of a ratio alike.
    const ratio = (other: number) => {
      if (other < 0) return '';
      const theirs = rounds[other] ?? [];
      return median(
        list.map((round, i) => round.requestsPerSecond / (theirs[i]?.requestsPerSecond ?? Number.NaN)),
      ).toFixed(2);
    };
    console.log(
      `| ${target.framework} | ${target.label} | ${Math.round(mine)} | ${ratio(baseline)} | ${ratio(peer)} | ${median(list.map((r) => r.p99Ms))} | ${list.reduce((n, r) => n + r.non2xx, 0)} | ${list.reduce((n, r) => n + r.errors, 0)} |`,
    );
  }
} finally {
  await Promise.all(targets.map((target) => target.stop()));
  await redis.stop();
}
