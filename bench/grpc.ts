/**
 * `npm run bench:grpc`: decisions/s of Envoy's gRPC ShouldRateLimit beside HTTP `POST /v1/check`
 * (and `POST /v1/ratelimit`, the same decision as JSON) on one service process, on the memory
 * store and on a throwaway redis-server. The same closed loop drives every target from this
 * process (keep-alive HTTP agent, one gRPC channel), in alternating rounds (A B C A B C ...);
 * the figures are the medians of the rounds. Loopback only, bounded in time.
 *
 * The load generator shares the machine with the service, and a grpc-js client costs more CPU per
 * call than an HTTP/1.1 one, so decisions/s alone understates what the gRPC server can do: the
 * service's own CPU time per decision (from /proc) is reported beside it, independent of the client.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answeredPerSecond, answering, closedLoop, errorCount } from './harness.js';
import { median } from './stats.js';
import type { LoadResult } from './harness.js';
import { RedisServer } from '../support/redis-server.js';
import { RlsClient } from '../support/rls-client.js';
import { ServiceProcess } from '../support/service-process.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 2000);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 50);
/** Distinct keys cycled through, so most checks are admitted and no counter grows large. */
const KEYS = 10_000;
const LIMIT = 1_000_000;
const GRPC_CHANNELS = Number(process.env.BENCH_GRPC_CHANNELS ?? 4);

const RULES = `
domain: bench
descriptors:
  - key: client
    rate_limit:
      unit: minute
      requests_per_unit: ${LIMIT}
`;

interface Target {
  name: string;
  op: (i: number) => Promise<unknown>;
}

function httpPost(agent: Agent, url: URL, path: string, body: (i: number) => string) {
  return (i: number) =>
    new Promise<void>((resolve, reject) => {
      const payload = body(i);
      const call = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (response) => {
          response.resume();
          response.once('end', () => {
            if (response.statusCode === 200 || response.statusCode === 429) resolve();
            else reject(new Error(`status ${response.statusCode ?? 0}`));
          });
        },
      );
      call.once('error', reject);
      call.end(payload);
    });
}

function targets(service: ServiceProcess, grpc: RlsClient[], agent: Agent): Target[] {
  const url = new URL(service.url);
  return [
    {
      name: 'HTTP POST /v1/check',
      op: httpPost(agent, url, '/v1/check', (i) =>
        JSON.stringify({ key: `client=${i % KEYS}`, limit: LIMIT, window: 60, algorithm: 'fixed-window' }),
      ),
    },
    {
      name: 'gRPC ShouldRateLimit',
      op: async (i) => {
        const answer = await (grpc[i % grpc.length] as RlsClient).shouldRateLimit({
          domain: 'bench',
          descriptors: [{ entries: [{ key: 'client', value: String(i % KEYS) }] }],
        });
        if (answer.overall_code !== 'OK' && answer.overall_code !== 'OVER_LIMIT')
          throw new Error('no decision');
      },
    },
    {
      name: 'HTTP POST /v1/ratelimit',
      op: httpPost(agent, url, '/v1/ratelimit', (i) =>
        JSON.stringify({
          domain: 'bench',
          descriptors: [{ entries: [{ key: 'client', value: String(i % KEYS) }] }],
        }),
      ),
    },
  ];
}

/** CPU time (user + system) a process has used, in ms (Linux /proc, 10 ms ticks). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Round extends LoadResult {
  opsPerSecond: number;
  errorTotal: number;
  serverCpuUsPerDecision: number;
}

async function benchStore(label: string, args: string[], rulesFile: string): Promise<void> {
  const service = await ServiceProcess.start([...args, '--rules', rulesFile]);
  // One channel per Envoy worker thread is what a proxy opens; four here.
  const grpc = Array.from({ length: GRPC_CHANNELS }, () => new RlsClient(`127.0.0.1:${service.grpcPort}`));
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  try {
    const list = targets(service, grpc, agent);
    // Warm-up: connections open, JIT warm, Lua loaded.
    for (const target of list)
      await closedLoop(answering(target.op), { inFlight: IN_FLIGHT, durationMs: 500 });
    const rounds = new Map<string, Round[]>(list.map((target) => [target.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of list) {
        const before = cpuMs(service.pid);
        const result = await closedLoop(answering(target.op), {
          inFlight: IN_FLIGHT,
          durationMs: ROUND_MS,
        });
        const serverCpuUsPerDecision = ((cpuMs(service.pid) - before) * 1000) / Math.max(1, result.answered);
        rounds.get(target.name)?.push({
          ...result,
          opsPerSecond: answeredPerSecond(result),
          errorTotal: errorCount(result),
          serverCpuUsPerDecision,
        });
      }
    }
    const baseline = median((rounds.get(list[0]?.name ?? '') ?? []).map(({ opsPerSecond }) => opsPerSecond));
    console.log(
      `\n${label}: ${ROUNDS} alternating rounds of ${ROUND_MS} ms per target, ${IN_FLIGHT} in flight, ${GRPC_CHANNELS} gRPC channels`,
    );
    const baselineCpu = median(
      (rounds.get(list[0]?.name ?? '') ?? []).map((each) => each.serverCpuUsPerDecision),
    );
    console.log(
      '| target | decisions/s (median) | vs POST /v1/check | service CPU µs/decision | vs POST /v1/check | p50 ms | p99 ms | errors |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const [name, results] of rounds) {
      const perSecond = median(results.map(({ opsPerSecond }) => opsPerSecond));
      const p50 = median(results.map(({ p50Ms }) => p50Ms));
      const p99 = median(results.map(({ p99Ms }) => p99Ms));
      const errors = results.reduce((total, { errorTotal }) => total + errorTotal, 0);
      const cpu = median(results.map((each) => each.serverCpuUsPerDecision));
      console.log(
        `| ${name} | ${Math.round(perSecond).toLocaleString('en-US')} | ${(perSecond / baseline).toFixed(2)} | ${cpu.toFixed(0)} | ${(cpu / baselineCpu).toFixed(2)} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${errors} |`,
      );
    }
  } finally {
    agent.destroy();
    for (const channel of grpc) channel.close();
    await service.stop('SIGTERM');
  }
}

const dir = mkdtempSync(join(tmpdir(), 'ratelimiter-bench-grpc-'));
const rulesFile = join(dir, 'rules.yaml');
writeFileSync(rulesFile, RULES);
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}`);
const redis = await RedisServer.start();
try {
  await benchStore('memory store', [], rulesFile);
  await benchStore('Redis store', ['--redis', redis.url, '--store-timeout-ms', '1000'], rulesFile);
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
