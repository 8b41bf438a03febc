/**
 * `tsx bench/compare-builds.ts <baseline dir> [candidate dir]`: the service built from two trees
 * side by side, each its own process, in alternating rounds (A B, B A, ...), on the same load:
 * HTTP `POST /v1/check` (autocannon) and gRPC ShouldRateLimit (closed loop), on the memory store
 * and on a throwaway redis-server. Reports per-round ratios candidate / baseline of throughput and
 * of server CPU per decision (service plus redis-server). Each dir holds a built `dist/` (the
 * candidate defaults to this tree). BENCH_COMPARE=http-memory,grpc-redis,... picks cases;
 * BENCH_ROUNDS, BENCH_HTTP_DURATION_MS as for `npm run bench`.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { RedisServer } from '../support/redis-server.js';
import { RlsClient } from '../support/rls-client.js';
import { cleanEnv } from '../support/service-process.js';
import { shouldRateLimit, writeBenchRules } from './envoy-load.js';
import { answering, closedLoop } from './harness.js';
import { autocannonTurn } from './http-load.js';
import { describeMachine, loadAverage, processCpuUs } from './machine.js';
import { parseServerCpuUs } from './redis-stats.js';
import { formatSpread, pairedRatios, printTable, spread } from './stats.js';

const CASES = ['http-memory', 'http-redis', 'grpc-memory', 'grpc-redis'] as const;
type Case = (typeof CASES)[number];

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const TURN_MS = Number(process.env.BENCH_HTTP_DURATION_MS ?? 2000);
const CONNECTIONS = 50;
const GRPC_IN_FLIGHT = 50;
const GRPC_CHANNELS = 4;

interface Running {
  child: ChildProcess;
  url: string;
  grpcPort: number;
}

/** `node <dir>/dist/cli/index.js serve` on free ports; resolves once both listeners are up. */
function startBuild(dir: string, args: string[]): Promise<Running> {
  const child = spawn(
    process.execPath,
    [join(dir, 'dist/cli/index.js'), 'serve', '--port', '0', '--grpc-port', '0', ...args],
    { env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolvePromise, reject) => {
    let url: string | undefined;
    let grpcPort: number | undefined;
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        url ??= /listening at (http:\/\/[\d.]+:\d+)/i.exec(line)?.[1];
        const port = /gRPC listening at [^"]*:(\d+)/.exec(line)?.[1];
        if (port !== undefined) grpcPort ??= Number(port);
        if (url !== undefined && grpcPort !== undefined) resolvePromise({ child, url, grpcPort });
      }
    });
    child.once('exit', (code) => {
      reject(new Error(`service of ${dir} exited with ${String(code)}`));
    });
  });
}

async function stop(running: Running): Promise<void> {
  const exited = new Promise((done) => running.child.once('exit', done));
  running.child.kill('SIGTERM');
  await exited;
}

interface Turn {
  perSecond: number;
  cpuUsPerDecision: number;
}

type Load = (running: Running, durationMs: number) => Promise<number>;

async function httpLoad(running: Running, durationMs: number): Promise<number> {
  const turn = await autocannonTurn(running.url, { connections: CONNECTIONS, durationMs });
  return Math.round((turn.requestsPerSecond * turn.elapsedMs) / 1000);
}

/** Every gRPC client made, closed at the end. */
const clients: RlsClient[] = [];

function grpcLoad(): Load {
  const channels = new Map<Running, RlsClient[]>();
  return async (running, durationMs) => {
    let list = channels.get(running);
    if (!list) {
      list = Array.from({ length: GRPC_CHANNELS }, () => new RlsClient(`127.0.0.1:${running.grpcPort}`));
      channels.set(running, list);
      clients.push(...list);
    }
    const result = await closedLoop(answering(shouldRateLimit(list)), {
      inFlight: GRPC_IN_FLIGHT,
      durationMs,
    });
    return result.answered;
  };
}

async function compare(
  name: Case,
  dirs: readonly string[],
  args: string[],
  load: Load,
  redisAdmin?: Redis,
): Promise<void> {
  const servers = await Promise.all(dirs.map((dir) => startBuild(dir, args)));
  const cpuUs = async (running: Running) =>
    processCpuUs(running.child.pid ?? -1) + (redisAdmin ? parseServerCpuUs(await redisAdmin.info('cpu')) : 0);
  const turns: Turn[][] = dirs.map(() => []);
  try {
    for (const running of servers) await load(running, 1000);
    for (let round = 0; round < ROUNDS; round++) {
      for (let step = 0; step < servers.length; step++) {
        const index = (round + step) % servers.length;
        const running = servers[index] as Running;
        const before = await cpuUs(running);
        const startedAt = performance.now();
        const decisions = await load(running, TURN_MS);
        const elapsedS = (performance.now() - startedAt) / 1000;
        turns[index]?.push({
          perSecond: decisions / elapsedS,
          cpuUsPerDecision: ((await cpuUs(running)) - before) / Math.max(1, decisions),
        });
      }
    }
  } finally {
    await Promise.all(servers.map(stop));
  }
  const rates = (index: number) => (turns[index] ?? []).map((turn) => turn.perSecond);
  const cpu = (index: number) => (turns[index] ?? []).map((turn) => turn.cpuUsPerDecision);
  printTable(
    `${name}: ${ROUNDS} alternating rounds of ${TURN_MS} ms (load average now ${loadAverage()})`,
    [
      { title: 'build' },
      { title: 'decisions/s', align: 'right' },
      { title: 'x baseline', align: 'right' },
      { title: 'server CPU µs/decision', align: 'right' },
      { title: 'x baseline by CPU', align: 'right' },
    ],
    dirs.map((dir, index) => [
      dir,
      formatSpread(spread(rates(index)), 0),
      formatSpread(spread(pairedRatios(rates(index), rates(0)))),
      formatSpread(spread(cpu(index)), 1),
      formatSpread(spread(pairedRatios(cpu(0), cpu(index)))),
    ]),
  );
}

const [baseline, candidate = fileURLToPath(new URL('..', import.meta.url))] = process.argv.slice(2);
if (baseline === undefined) throw new Error('usage: compare-builds.ts <baseline dir> [candidate dir]');
const dirs = [resolve(baseline), resolve(candidate)];
const only = (process.env.BENCH_COMPARE ?? CASES.join(',')).split(',') as Case[];
console.log(describeMachine());
const benchRules = writeBenchRules();
const rules = benchRules.path;
const redis = await RedisServer.start();
const admin = new Redis(redis.url);
try {
  for (const name of only) {
    if (!(CASES as readonly string[]).includes(name)) throw new RangeError(`unknown case ${name}`);
    const onRedis = name.endsWith('redis');
    const args = [
      ...(onRedis ? ['--redis', redis.url, '--store-timeout-ms', '1000'] : []),
      ...(name.startsWith('grpc') ? ['--rules', rules] : []),
    ];
    await compare(
      name,
      dirs,
      args,
      name.startsWith('grpc') ? grpcLoad() : httpLoad,
      onRedis ? admin : undefined,
    );
  }
} finally {
  for (const client of clients) client.close();
  admin.disconnect();
  await redis.stop();
  benchRules.remove();
}
