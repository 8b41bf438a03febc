/**
 * `npm run bench grpc` (and `npm run bench:grpc`): Envoy's gRPC ShouldRateLimit beside HTTP
 * `POST /v1/check` (and `POST /v1/ratelimit`, the same decision as JSON) on one service process,
 * on the memory store and on a throwaway redis-server, and a grpc-js server answering a constant
 * (bench/constant-grpc-server.ts): the floor of the transport. The same closed loop drives every
 * target from this process (keep-alive HTTP agent, gRPC channels), in alternating rounds whose
 * order rotates; the figures are medians of the rounds, the ratios paired round by round.
 *
 * The load generator shares the machine with the service, and a grpc-js client costs more CPU per
 * call than an HTTP/1.1 one, so decisions/s alone understates what the gRPC server can do: the
 * server's own CPU time per decision (from /proc) is reported beside it, independent of the
 * client, and is what the target is stated in.
 */
import { Agent, request } from 'node:http';
import { RedisServer } from '../support/redis-server.js';
import { RlsClient } from '../support/rls-client.js';
import { ServiceProcess } from '../support/service-process.js';
import { startChildServer } from './child-server.js';
import { BENCH_LIMIT, shouldRateLimit, writeBenchRules } from './envoy-load.js';
import { answeredPerSecond, answering, closedLoop, errorCount } from './harness.js';
import type { Knobs } from './knobs.js';
import { processCpuUs } from './machine.js';
import { formatNumber, formatSpread, pairedRatios, printTable, spread } from './stats.js';
import type { Targets } from './targets.js';

const IN_FLIGHT = 50;
/** Distinct keys cycled through, so most checks are admitted and no counter grows large. */
const KEYS = 10_000;
/** One channel per Envoy worker thread is what a proxy opens; four here. */
const GRPC_CHANNELS = 4;

interface Target {
  name: string;
  pid: number;
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

interface Round {
  perSecond: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerDecision: number;
}

async function rounds(list: readonly Target[], knobs: Knobs): Promise<Round[][]> {
  for (const target of list) await closedLoop(answering(target.op), { inFlight: IN_FLIGHT, durationMs: 500 });
  const turns: Round[][] = list.map(() => []);
  for (let round = 0; round < knobs.rounds; round++) {
    for (let step = 0; step < list.length; step++) {
      const index = (round + step) % list.length;
      const target = list[index] as Target;
      const before = processCpuUs(target.pid);
      const result = await closedLoop(answering(target.op), {
        inFlight: IN_FLIGHT,
        durationMs: knobs.httpDurationMs,
      });
      turns[index]?.push({
        perSecond: answeredPerSecond(result),
        errors: errorCount(result),
        p50Ms: result.p50Ms,
        p99Ms: result.p99Ms,
        serverCpuUsPerDecision: (processCpuUs(target.pid) - before) / Math.max(1, result.answered),
      });
    }
  }
  return turns;
}

async function benchStore(
  label: string,
  args: string[],
  rulesFile: string,
  knobs: Knobs,
  targetLog: Targets,
): Promise<void> {
  const service = await ServiceProcess.start([...args, '--rules', rulesFile]);
  const constant = await startChildServer(
    new URL('./constant-grpc-server.ts', import.meta.url),
    'constant gRPC server',
  );
  const channels = (address: string) => Array.from({ length: GRPC_CHANNELS }, () => new RlsClient(address));
  const grpc = channels(`127.0.0.1:${service.grpcPort}`);
  const floor = channels(constant.url);
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const url = new URL(service.url);
  try {
    const list: Target[] = [
      {
        name: 'HTTP POST /v1/check',
        pid: service.pid,
        op: httpPost(agent, url, '/v1/check', (i) =>
          JSON.stringify({
            key: `client=${i % KEYS}`,
            limit: BENCH_LIMIT,
            window: 60,
            algorithm: 'fixed-window',
          }),
        ),
      },
      { name: 'gRPC ShouldRateLimit', pid: service.pid, op: shouldRateLimit(grpc) },
      {
        name: 'HTTP POST /v1/ratelimit',
        pid: service.pid,
        op: httpPost(agent, url, '/v1/ratelimit', (i) =>
          JSON.stringify({
            domain: 'bench',
            descriptors: [{ entries: [{ key: 'client', value: String(i % KEYS) }] }],
          }),
        ),
      },
      {
        name: 'gRPC, grpc-js answering a constant (the floor)',
        pid: constant.pid,
        op: shouldRateLimit(floor),
      },
    ];
    const turns = await rounds(list, knobs);
    const rates = (index: number) => (turns[index] ?? []).map((turn) => turn.perSecond);
    const cpu = (index: number) => (turns[index] ?? []).map((turn) => turn.serverCpuUsPerDecision);
    printTable(
      `gRPC beside HTTP, ${label}: ${knobs.rounds} alternating rounds of ${knobs.httpDurationMs} ms per target, ${IN_FLIGHT} in flight, ${GRPC_CHANNELS} gRPC channels`,
      [
        { title: 'target' },
        { title: 'decisions/s', align: 'right' },
        { title: 'x POST /v1/check', align: 'right' },
        { title: 'server CPU µs/decision', align: 'right' },
        { title: 'CPU x POST /v1/check', align: 'right' },
        { title: 'p50 ms', align: 'right' },
        { title: 'p99 ms', align: 'right' },
        { title: 'errors', align: 'right' },
      ],
      list.map((target, index) => {
        const own = turns[index] ?? [];
        return [
          target.name,
          formatSpread(spread(rates(index)), 0),
          formatSpread(spread(pairedRatios(rates(index), rates(0)))),
          formatSpread(spread(cpu(index)), 1),
          formatSpread(spread(pairedRatios(cpu(index), cpu(0)))),
          formatNumber(spread(own.map((turn) => turn.p50Ms)).median, 2),
          formatNumber(spread(own.map((turn) => turn.p99Ms)).median, 2),
          formatNumber(own.reduce((total, turn) => total + turn.errors, 0)),
        ];
      }),
    );
    targetLog.atMost(
      `gRPC ShouldRateLimit service CPU per decision x POST /v1/check, ${label}`,
      1.5,
      spread(pairedRatios(cpu(1), cpu(0))),
      'x',
    );
  } finally {
    agent.destroy();
    for (const channel of [...grpc, ...floor]) channel.close();
    await Promise.all([service.stop('SIGTERM'), constant.stop()]);
  }
}

export async function benchGrpc(knobs: Knobs, targetLog: Targets): Promise<void> {
  const rules = writeBenchRules();
  const rulesFile = rules.path;
  const redis = await RedisServer.start();
  try {
    await benchStore('memory store', [], rulesFile, knobs, targetLog);
    await benchStore(
      'Redis store',
      ['--redis', redis.url, '--store-timeout-ms', '1000'],
      rulesFile,
      knobs,
      targetLog,
    );
  } finally {
    await redis.stop();
    rules.remove();
  }
}
