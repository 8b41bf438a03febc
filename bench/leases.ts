/**
 * `npm run bench leases`: a lease's round trip over HTTP beside a rate check. Against the real
 * service process (built CLI) on a throwaway redis-server and on the memory store, the library over
 * ServiceStore (one request per call, keep-alive) runs `POST /v1/check` and `POST /v1/leases` then
 * `DELETE /v1/leases/{id}` in interleaved rounds; ratios are taken round by round. Then the library
 * on a MemoryStore and a RedisStore (bench/lease-library.ts), the issue's own target. The server
 * side's CPU (the service process and redis-server) per call is the steadier figure on a shared
 * machine.
 */
import { Redis } from 'ioredis';
import { RateLimiter, ServiceStore } from '../src/index.js';
import { RedisServer } from '../support/redis-server.js';
import { ServiceProcess } from '../support/service-process.js';
import { closedLoop, errorCount } from './harness.js';
import type { Operation } from './harness.js';
import type { Knobs } from './knobs.js';
import { benchLeaseLibrary } from './lease-library.js';
import { processCpuUs } from './machine.js';
import { parseServerCpuUs } from './redis-stats.js';
import { formatNumber, formatSpread, pairedRatios, printTable, spread } from './stats.js';
import type { Targets } from './targets.js';

/** Keys cycled through, so neither subject works one hot key. */
const KEYS = 1000;
/** Calls in flight: ServiceStore's sockets, so no call waits for one. */
const IN_FLIGHT = 32;

interface Subject {
  name: string;
  op: Operation;
}

interface Turn {
  callsPerSecond: number;
  serverCpuUsPerCall: number;
  /** This process's CPU: the client side (ServiceStore, or the library and ioredis). */
  clientCpuUsPerCall: number;
  errors: number;
}

function subjects(limiter: RateLimiter): Subject[] {
  return [
    {
      name: 'check',
      op: async (i) =>
        (await limiter.check({ key: `bench:${i % KEYS}`, limit: 1_000_000, window: '1m' })).allowed ? 1 : 0,
    },
    {
      name: 'acquire + release',
      op: async (i) => {
        const key = `bench:${i % KEYS}`;
        const lease = await limiter.acquire({ key, limit: 1_000_000, ttl: '1m' });
        if (lease.leaseId === undefined) return 0;
        return (await limiter.release({ key, leaseId: lease.leaseId })).released ? 1 : 0;
      },
    },
  ];
}

async function turn(subject: Subject, serverCpuUs: () => Promise<number>, durationMs: number): Promise<Turn> {
  const before = await serverCpuUs();
  const load = await closedLoop(subject.op, { inFlight: IN_FLIGHT, durationMs });
  const used = (await serverCpuUs()) - before;
  return {
    callsPerSecond: load.answered / (load.elapsedMs / 1000),
    serverCpuUsPerCall: used / Math.max(1, load.answered),
    clientCpuUsPerCall: load.cpuUs / Math.max(1, load.answered),
    errors: errorCount(load),
  };
}

/** Both subjects on `limiter` in interleaved rounds; the round-by-round ratios lease / check. */
async function compare(
  title: string,
  limiter: RateLimiter,
  serverCpuUs: () => Promise<number>,
  knobs: Knobs,
  requestsPerCall: readonly number[] = [1, 2],
): Promise<{ throughput: number[]; cpu: number[] }> {
  const list = subjects(limiter);
  for (const subject of list) await turn(subject, serverCpuUs, Math.min(500, knobs.durationMs));
  const turns: Turn[][] = list.map(() => []);
  for (let round = 0; round < knobs.rounds; round++) {
    for (let step = 0; step < list.length; step++) {
      const index = (round + step) % list.length;
      turns[index]?.push(await turn(list[index] as Subject, serverCpuUs, knobs.durationMs));
    }
  }
  const [checks = [], leases = []] = turns;
  const rate = (each: Turn[]) => each.map((t) => t.callsPerSecond);
  const cpu = (each: Turn[]) => each.map((t) => t.serverCpuUsPerCall);
  printTable(
    `${title}, ${IN_FLIGHT} in flight: ${knobs.rounds} interleaved rounds of ${knobs.durationMs} ms`,
    [
      { title: 'subject' },
      { title: 'calls/s', align: 'right' },
      { title: 'HTTP requests/s', align: 'right' },
      { title: 'x check', align: 'right' },
      { title: 'server CPU µs/call', align: 'right' },
      { title: 'client CPU µs/call', align: 'right' },
      { title: 'errors', align: 'right' },
    ],
    list.map((subject, index) => {
      const each = turns[index] ?? [];
      return [
        subject.name,
        formatSpread(spread(rate(each)), 0),
        formatNumber(spread(rate(each)).median * (requestsPerCall[index] ?? 1)),
        formatSpread(spread(pairedRatios(rate(each), rate(checks)))),
        formatSpread(spread(cpu(each)), 1),
        formatNumber(spread(each.map((t) => t.clientCpuUsPerCall)).median, 1),
        formatNumber(each.reduce((n, t) => n + t.errors, 0)),
      ];
    }),
  );
  return {
    throughput: pairedRatios(rate(leases), rate(checks)),
    cpu: pairedRatios(cpu(checks), cpu(leases)),
  };
}

const redisCpuUs = async (admin: Redis) => parseServerCpuUs(await admin.info('cpu'));

/** The service process on `args`, the library over ServiceStore (one request per call). */
async function overHttp(storeName: string, args: string[], redisAdmin: Redis | undefined, knobs: Knobs) {
  // A generous store timeout: on a shared machine a 50 ms one degrades decisions, and this compares speed.
  const service = await ServiceProcess.start([...args, '--store-timeout-ms', '1000']);
  const limiter = new RateLimiter({
    store: new ServiceStore({ url: service.url, batch: false, timeoutMs: 5000, maxSockets: IN_FLIGHT }),
  });
  try {
    return await compare(
      `Service on ${storeName}, over HTTP (POST /v1/check; POST /v1/leases then DELETE /v1/leases/{id}; ServiceStore, one request per call, keep-alive)`,
      limiter,
      async () => processCpuUs(service.pid) + (redisAdmin ? await redisCpuUs(redisAdmin) : 0),
      knobs,
    );
  } finally {
    await limiter.close();
    await service.stop();
  }
}

export async function benchLeases(knobs: Knobs, targets: Targets): Promise<void> {
  const redis = await RedisServer.start();
  const redisAdmin = new Redis(redis.url);
  try {
    const onRedis = await overHttp('Redis', ['--redis', redis.url], redisAdmin, knobs);
    const inMemory = await overHttp('the memory store', [], undefined, knobs);
    // The target is the library's: a lease's two script calls beside a (coalesced) check.
    await benchLeaseLibrary(knobs, targets, redis.url);
    // A lease's round trip is two requests: half a check's rate is the natural bound.
    targets.atLeast('HTTP acquire+release x check (Redis)', 0.4, {
      throughput: spread(onRedis.throughput),
      cpu: spread(onRedis.cpu),
    });
    targets.atLeast('HTTP acquire+release x check (memory)', 0.4, {
      throughput: spread(inMemory.throughput),
      cpu: spread(inMemory.cpu),
    });
  } finally {
    redisAdmin.disconnect();
    await redis.stop();
  }
}
