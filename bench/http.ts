/**
 * `npm run bench:http`: autocannon against POST /v1/check of the real service (built CLI, memory
 * store and a throwaway redis-server) beside a Fastify route that returns a constant, on the same
 * machine in the same run. Each server is its own process; autocannon runs in this one.
 * Throughput is the mean over rounds; p50 and p99 are the medians of the rounds' percentiles.
 */
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { median } from './harness.js';
import { RedisServer } from '../test/support/redis-server.js';
import { ServiceProcess } from '../test/integration/support/service-process.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
/**
 * Each target's time is split into rounds, taken in turn, so load from anything else on the
 * machine falls on every target alike instead of on whichever ran at the wrong moment.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
/** Distinct keys cycled through, so no counter grows large and most checks are admitted. */
const KEYS = 10_000;

interface Target {
  name: string;
  url: string;
  stop(): Promise<unknown>;
}

interface Measured {
  name: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

async function startConstantServer(): Promise<Target> {
  const script = fileURLToPath(new URL('./constant-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening at (\S+)/.exec(chunk.toString());
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => {
      reject(new Error(`constant server exited with ${code}`));
    });
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    name: 'constant Fastify route',
    url,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function startService(name: string, args: string[]): Promise<Target> {
  const service = await ServiceProcess.start(args);
  return { name, url: service.url, stop: () => service.stop('SIGTERM') };
}

async function measure(target: Target, durationS: number): Promise<Measured> {
  let serial = 0;
  const result = await autocannon({
    url: target.url,
    connections: CONNECTIONS,
    duration: durationS,
    requests: [
      {
        method: 'POST',
        path: '/v1/check',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request) => {
          serial = (serial + 1) % KEYS;
          return { ...request, body: JSON.stringify({ key: `user:${serial}`, limit: 100, window: '1m' }) };
        },
      },
    ],
  });
  return {
    name: target.name,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** A target's rounds as one row: mean throughput, median latency percentiles, summed failures. */
function combine(rounds: readonly Measured[]): Measured {
  const sum = (pick: (round: Measured) => number) => rounds.reduce((total, round) => total + pick(round), 0);
  return {
    name: rounds[0]?.name ?? '',
    requestsPerSecond: sum((round) => round.requestsPerSecond) / rounds.length,
    p50Ms: median(rounds.map((round) => round.p50Ms)),
    p99Ms: median(rounds.map((round) => round.p99Ms)),
    non2xx: sum((round) => round.non2xx),
    errors: sum((round) => round.errors),
  };
}

function report(results: readonly Measured[]): void {
  const baseline = results[0];
  if (!baseline) return;
  console.log(
    `\nPOST /v1/check, ${CONNECTIONS} connections, ${DURATION_S} s per target in ${ROUNDS} interleaved rounds, ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}\n`,
  );
  console.log(
    '| target | decisions/s | vs constant | p50 ms | p99 ms | p50 / p99 vs constant | non-2xx | errors |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of results) {
    const throughput = (row.requestsPerSecond / baseline.requestsPerSecond).toFixed(2);
    const latency = `${(row.p50Ms / baseline.p50Ms).toFixed(2)} / ${(row.p99Ms / baseline.p99Ms).toFixed(2)}`;
    console.log(
      `| ${row.name} | ${Math.round(row.requestsPerSecond)} | ${throughput} | ${row.p50Ms} | ${row.p99Ms} | ${latency} | ${row.non2xx} | ${row.errors} |`,
    );
  }
}

const redis = await RedisServer.start();
const targets: Target[] = [];
try {
  targets.push(await startConstantServer());
  targets.push(await startService('service, memory store', ['--log-level', 'info']));
  // A generous store timeout: the benchmark measures throughput, not the 50 ms failure bound.
  targets.push(
    await startService('service, Redis store', ['--redis', redis.url, '--store-timeout-ms', '1000']),
  );
  for (const target of targets) await measure(target, 1); // warm-up: JIT, connections, script load
  const rounds: Measured[][] = targets.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, target] of targets.entries()) {
      rounds[index]?.push(await measure(target, DURATION_S / ROUNDS));
    }
  }
  report(rounds.map(combine));
} finally {
  await Promise.all(targets.map((target) => target.stop()));
  await redis.stop();
}
