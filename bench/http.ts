/**
 * The service over HTTP: `POST /v1/check` of the real service process (built CLI, default
 * settings) on the memory store and on a throwaway redis-server, beside a Fastify route that
 * parses the same body and answers a constant. Every server is its own process; the load runs in
 * this one. First each target flat out in interleaved rounds, then each at half its measured
 * maximum rate.
 */
import { startChildServer } from './child-server.js';
import { Redis } from 'ioredis';
import { RedisServer } from '../support/redis-server.js';
import { ServiceProcess } from '../support/service-process.js';
import { autocannonTurn, pacedTurn } from './http-load.js';
import type { HttpTurn } from './http-load.js';
import type { Knobs } from './knobs.js';
import { processCpuUs } from './machine.js';
import { parseServerCpuUs } from './redis-stats.js';
import { formatNumber, formatSpread, pairedRatios, printTable, spread } from './stats.js';
import type { Targets } from './targets.js';

interface Target {
  name: string;
  url: string;
  /** Degraded decisions answered so far, from the service's own /metrics (0 for the constant route). */
  degraded(): Promise<number>;
  /** CPU used so far by the server side: the server process, and redis-server behind it. */
  cpuUs(): Promise<number>;
  stop(): Promise<unknown>;
}

/** A turn of one target, with the degraded decisions it caused and its server CPU per request. */
interface Measured extends HttpTurn {
  degraded: number;
  serverCpuUsPerRequest: number;
}

async function startConstantServer(): Promise<Target> {
  const server = await startChildServer(new URL('./constant-server.ts', import.meta.url), 'constant server');
  return {
    name: 'constant Fastify route',
    url: server.url,
    degraded: () => Promise.resolve(0),
    cpuUs: () => Promise.resolve(processCpuUs(server.pid)),
    stop: () => server.stop(),
  };
}

/** Sum of every sample of ratelimiter_degraded_decisions_total. */
async function degradedFromMetrics(service: ServiceProcess): Promise<number> {
  const text = await (await service.fetch('/metrics')).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('ratelimiter_degraded_decisions_total'))
    .reduce((total, line) => total + Number(line.split(' ').pop()), 0);
}

async function startService(name: string, args: string[], redisAdmin?: Redis): Promise<Target> {
  const service = await ServiceProcess.start(args);
  return {
    name,
    url: service.url,
    degraded: () => degradedFromMetrics(service),
    cpuUs: async () =>
      processCpuUs(service.pid) + (redisAdmin ? parseServerCpuUs(await redisAdmin.info('cpu')) : 0),
    stop: () => service.stop('SIGTERM'),
  };
}

async function measured(target: Target, load: (url: string) => Promise<HttpTurn>): Promise<Measured> {
  const [degraded, cpuUs] = [await target.degraded(), await target.cpuUs()];
  const turn = await load(target.url);
  const requests = (turn.requestsPerSecond * turn.elapsedMs) / 1000;
  return {
    ...turn,
    degraded: (await target.degraded()) - degraded,
    serverCpuUsPerRequest: ((await target.cpuUs()) - cpuUs) / Math.max(1, requests),
  };
}

/** `rounds` rounds, each target once per round, the order rotated from round to round. */
async function rounds(
  targets: readonly Target[],
  count: number,
  load: (target: Target, index: number) => Promise<Measured>,
): Promise<Measured[][]> {
  const turns: Measured[][] = targets.map(() => []);
  for (let round = 0; round < count; round++) {
    for (let step = 0; step < targets.length; step++) {
      const index = (round + step) % targets.length;
      const target = targets[index];
      if (target) turns[index]?.push(await load(target, index));
    }
  }
  return turns;
}

const LATENCY_COLUMNS = [
  { title: 'p50 ms', align: 'right' },
  { title: 'p99 ms', align: 'right' },
  { title: 'p99.9 ms', align: 'right' },
  { title: 'non-2xx', align: 'right' },
  { title: 'errors', align: 'right' },
  { title: 'degraded', align: 'right' },
] as const;

function latencyCells(turns: readonly Measured[]): string[] {
  const sum = (pick: (turn: Measured) => number) => turns.reduce((total, turn) => total + pick(turn), 0);
  return [
    formatSpread(spread(turns.map((turn) => turn.p50Ms))),
    formatSpread(spread(turns.map((turn) => turn.p99Ms))),
    formatSpread(spread(turns.map((turn) => turn.p999Ms))),
    formatNumber(sum((turn) => turn.non2xx)),
    formatNumber(sum((turn) => turn.errors)),
    formatNumber(sum((turn) => turn.degraded)),
  ];
}

const rates = (turns: readonly Measured[]) => turns.map((turn) => turn.requestsPerSecond);
const cpuPerRequest = (turns: readonly Measured[]) => turns.map((turn) => turn.serverCpuUsPerRequest);

export async function benchHttp(knobs: Knobs, targetLog: Targets): Promise<void> {
  const { httpConnections: connections, httpDurationMs: durationMs } = knobs;
  const redis = await RedisServer.start();
  const redisAdmin = new Redis(redis.url);
  const targets: Target[] = [];
  try {
    targets.push(await startConstantServer());
    targets.push(await startService('service, memory store', []));
    targets.push(await startService('service, Redis store', ['--redis', redis.url], redisAdmin));
    // Warm-up: JIT, connections, script load.
    for (const target of targets) await autocannonTurn(target.url, { connections, durationMs: 1000 });

    const flatOut = await rounds(targets, knobs.rounds, (target) =>
      measured(target, (url) => autocannonTurn(url, { connections, durationMs })),
    );
    const constant = rates(flatOut[0] ?? []);
    const constantCpu = cpuPerRequest(flatOut[0] ?? []);
    printTable(
      `POST /v1/check flat out: autocannon, ${connections} connections, ${knobs.rounds} rounds of ${durationMs} ms per target`,
      [
        { title: 'target' },
        { title: 'requests/s', align: 'right' },
        { title: 'x constant route', align: 'right' },
        ...LATENCY_COLUMNS,
        { title: 'server CPU µs/request', align: 'right' },
        { title: 'x constant by CPU', align: 'right' },
      ],
      targets.map((target, index) => {
        const turns = flatOut[index] ?? [];
        return [
          target.name,
          formatSpread(spread(rates(turns)), 0),
          formatSpread(spread(pairedRatios(rates(turns), constant))),
          ...latencyCells(turns),
          formatNumber(spread(cpuPerRequest(turns)).median, 1),
          formatSpread(spread(pairedRatios(constantCpu, cpuPerRequest(turns)))),
        ];
      }),
    );
    const ratio = (index: number) => ({
      throughput: spread(pairedRatios(rates(flatOut[index] ?? []), constant)),
      cpu: spread(pairedRatios(constantCpu, cpuPerRequest(flatOut[index] ?? []))),
    });
    targetLog.atLeast('HTTP memory store x constant route', 0.85, ratio(1));
    targetLog.atLeast('HTTP Redis store x constant route', 0.8, ratio(2));
    // The memory store decides in process: it must never be the slower of the two.
    targetLog.atLeast('HTTP memory store x Redis store', 1, {
      throughput: spread(pairedRatios(rates(flatOut[1] ?? []), rates(flatOut[2] ?? []))),
      cpu: spread(pairedRatios(cpuPerRequest(flatOut[2] ?? []), cpuPerRequest(flatOut[1] ?? []))),
    });

    const halfRate = targets.map((_, index) =>
      Math.max(1, Math.floor(spread(rates(flatOut[index] ?? [])).median / 2)),
    );
    const paced = await rounds(targets, knobs.rounds, (target, index) =>
      measured(target, (url) => pacedTurn(url, { connections, durationMs, rate: halfRate[index] ?? 1 })),
    );
    const bursty = await rounds(targets, knobs.rounds, (target, index) =>
      measured(target, (url) =>
        autocannonTurn(url, { connections, durationMs, overallRate: halfRate[index] ?? 1 }),
      ),
    );
    printTable(
      `POST /v1/check at half the measured maximum rate: ${knobs.rounds} rounds of ${durationMs} ms per target and load`,
      [{ title: 'target' }, { title: 'load' }, { title: 'requests/s', align: 'right' }, ...LATENCY_COLUMNS],
      targets.flatMap((target, index) => [
        [
          target.name,
          'paced evenly (open loop)',
          formatSpread(spread(rates(paced[index] ?? [])), 0),
          ...latencyCells(paced[index] ?? []),
        ],
        [
          target.name,
          'autocannon overallRate',
          formatSpread(spread(rates(bursty[index] ?? [])), 0),
          ...latencyCells(bursty[index] ?? []),
        ],
      ]),
    );
    for (const index of [1, 2]) {
      const name = targets[index]?.name ?? '';
      const p99 = spread((paced[index] ?? []).map((turn) => turn.p99Ms));
      targetLog.atMost(`HTTP ${name}: p99 at half its maximum rate (paced)`, 5, p99, 'ms');
    }
  } finally {
    await Promise.all(targets.map((target) => target.stop()));
    redisAdmin.disconnect();
    await redis.stop();
  }
}
