/**
 * `npm run bench rlqs` (and `npm run bench:rlqs`): the Rate Limit Quota Service against the
 * per-request gRPC path, on issue 15's figures. Eight simulated Envoy proxies
 * (support/rlqs-fleet.ts, enforcing as Envoy's filter does) on two service processes sharing a
 * throwaway redis-server, one quota of BENCH_RLQS_LIMIT per second (100) and then one of 100 times
 * that (the same reports, 100 times the traffic), demand 3x the limit (two heavy proxies, six light
 * ones), reports every BENCH_RLQS_REPORT_MS (Envoy's 5,000). After the warm-up (each proxy's first
 * report and two more) it measures over BENCH_RLQS_DURATION_MS (30,000): the worst 10 s window's
 * admissions against the limit (the bound of docs/rlqs.md), utilisation (admitted ÷ min(limit,
 * offered)), what the light proxies got of their demand, how far apart the heavy ones are, and the
 * service CPU (both nodes, from /proc) per admitted request, beside the CPU per decision of
 * ShouldRateLimit on one of the same nodes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServer } from '../support/redis-server.js';
import { ProxyFleet, sumBins, BIN_MS } from '../support/rlqs-fleet.js';
import type { FleetProxy } from '../support/rlqs-fleet.js';
import { RlsClient } from '../support/rls-client.js';
import { ServiceProcess, eventually } from '../support/service-process.js';
import { shouldRateLimit, writeBenchRules } from './envoy-load.js';
import { answering, closedLoop } from './harness.js';
import type { Knobs } from './knobs.js';
import { processCpuUs } from './machine.js';
import { formatNumber, printTable, spread } from './stats.js';
import type { Targets } from './targets.js';

const WINDOW_MS = 10_000;

function knob(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const cpuOf = (nodes: readonly ServiceProcess[]) =>
  nodes.reduce((sum, node) => sum + processCpuUs(node.pid), 0);

async function waitMs(ms: number): Promise<void> {
  const end = performance.now() + ms;
  await eventually(() => Promise.resolve(performance.now() >= end), `${ms} ms`, ms + 5000);
}

interface FleetFigures {
  worstWindow: number;
  utilisation: number;
  lightServedMin: number;
  heavyApart: number;
  admitted: number;
  offered: number;
  bucketStarts: number;
  cpuUsPerAdmitted: number;
  cpuUsPerAdmittedAboveIdle: number;
  /** Service CPU above idle per report answered (all the buckets of one proxy's message). */
  cpuUsPerReport: number;
}

async function runFleet(
  nodes: ServiceProcess[],
  quota: string,
  limit: number,
  reportMs: number,
  durationMs: number,
  idleCpuUsPerS: number,
): Promise<FleetFigures> {
  const fleet = new ProxyFleet();
  const bucket = { name: quota, tenant: 'bench' };
  const demands = [1.2, 1.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1].map((share) => share * limit);
  const proxies = demands.map((demand, index) => {
    const addresses = [0, 1].map(
      (offset) => `127.0.0.1:${(nodes[(index + offset) % 2] as ServiceProcess).grpcPort}`,
    );
    return fleet.add(`p${index}`, { addresses, domain: 'edge', reportIntervalMs: reportMs }, bucket, demand);
  });
  fleet.start();
  try {
    await eventually(
      () => Promise.resolve(proxies.every((proxy) => proxy.envoy.responses.length >= 3)),
      'the warm-up: a first report and two more, answered',
      reportMs * 4 + 10_000,
    );
    const from = Math.ceil(fleet.elapsedMs() / BIN_MS) * BIN_MS;
    const cpuBefore = cpuOf(nodes);
    const answeredBefore = proxies.reduce((sum, proxy) => sum + proxy.envoy.responses.length, 0);
    await waitMs(durationMs);
    const cpuUs = cpuOf(nodes) - cpuBefore;
    const to = from + durationMs;
    let worst = 0;
    for (let start = from; start + WINDOW_MS <= to; start += BIN_MS) {
      worst = Math.max(worst, sumBins(proxies, 'admitted', start, start + WINDOW_MS));
    }
    const admitted = sumBins(proxies, 'admitted', from, to);
    const offered = sumBins(proxies, 'offered', from, to);
    const served = (proxy: FleetProxy) =>
      sumBins([proxy], 'admitted', from, to) / Math.max(1, sumBins([proxy], 'offered', from, to));
    const heavy = proxies.slice(0, 2).map((proxy) => sumBins([proxy], 'admitted', from, to));
    const reports = proxies.reduce((sum, proxy) => sum + proxy.envoy.responses.length, 0) - answeredBefore;
    const aboveIdle = Math.max(0, cpuUs - (idleCpuUsPerS * durationMs) / 1000);
    const startedAt = (proxy: FleetProxy) =>
      proxy.envoy.bucketStarts.filter((entry) => entry.atMs - fleet.startMs >= from).length;
    return {
      worstWindow: worst / ((limit * WINDOW_MS) / 1000),
      utilisation: admitted / Math.min((limit * durationMs) / 1000, offered),
      lightServedMin: Math.min(...proxies.slice(2).map(served)),
      heavyApart: Math.max(...heavy) / Math.max(1, Math.min(...heavy)),
      admitted,
      offered,
      bucketStarts: proxies.reduce((sum, proxy) => sum + startedAt(proxy), 0),
      cpuUsPerAdmitted: cpuUs / Math.max(1, admitted),
      cpuUsPerAdmittedAboveIdle: aboveIdle / Math.max(1, admitted),
      cpuUsPerReport: aboveIdle / Math.max(1, reports),
    };
  } finally {
    fleet.stop();
  }
}

/** Server CPU per ShouldRateLimit decision on one node, `rounds` closed loops of `durationMs`. */
async function perRequestCpu(node: ServiceProcess, rounds: number, durationMs: number): Promise<number[]> {
  const channels = Array.from({ length: 4 }, () => new RlsClient(`127.0.0.1:${node.grpcPort}`));
  try {
    const call = answering(shouldRateLimit(channels));
    await closedLoop(call, { inFlight: 50, durationMs: 500 });
    const figures: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const before = processCpuUs(node.pid);
      const result = await closedLoop(call, { inFlight: 50, durationMs, maxOps: 1_000_000 });
      figures.push((processCpuUs(node.pid) - before) / Math.max(1, result.answered));
    }
    return figures;
  } finally {
    for (const channel of channels) channel.close();
  }
}

/** The limits run: the 100 per second, and 100 times that (the same reports, 100 times the traffic). */
const QUOTAS = [
  { name: 'api', scale: 1 },
  { name: 'big', scale: 100 },
];

function printFleet(
  limit: number,
  reportMs: number,
  durationMs: number,
  fleet: FleetFigures,
  grpcCpuUs: number,
): void {
  printTable(
    `RLQS: 8 proxies on 2 nodes sharing one Redis, limit ${formatNumber(limit)}/s, demand 3x (2 heavy at 1.2x, 6 light at 0.1x), reports every ${reportMs} ms, ${durationMs / 1000} s measured after the warm-up`,
    [{ title: 'figure' }, { title: 'measured', align: 'right' }],
    [
      ['admitted ÷ limit, worst 10 s window', formatNumber(fleet.worstWindow, 3)],
      ['utilisation: admitted ÷ min(limit, offered)', formatNumber(fleet.utilisation, 3)],
      ['light proxies: least share of demand admitted', formatNumber(fleet.lightServedMin, 3)],
      ['heavy proxies: admitted, larger ÷ smaller', formatNumber(fleet.heavyApart, 3)],
      ['requests admitted / offered', `${formatNumber(fleet.admitted)} / ${formatNumber(fleet.offered)}`],
      ['token buckets started (assignment changes)', formatNumber(fleet.bucketStarts)],
      ['service CPU (2 nodes) per admitted request, µs', formatNumber(fleet.cpuUsPerAdmitted, 2)],
      ['the same above the nodes’ idle CPU, µs', formatNumber(fleet.cpuUsPerAdmittedAboveIdle, 3)],
      ['service CPU above idle per report answered, µs', formatNumber(fleet.cpuUsPerReport, 0)],
      [
        'ShouldRateLimit ÷ RLQS, CPU per admitted request',
        formatNumber(grpcCpuUs / fleet.cpuUsPerAdmitted, 0),
      ],
      ['the same above idle', formatNumber(grpcCpuUs / fleet.cpuUsPerAdmittedAboveIdle, 0)],
    ],
  );
}

export async function benchRlqs(knobs: Knobs, targets: Targets): Promise<void> {
  const limit = knob('BENCH_RLQS_LIMIT', 100, 10, 100_000);
  const reportMs = knob('BENCH_RLQS_REPORT_MS', 5000, 1000, 60_000);
  const durationMs = knob('BENCH_RLQS_DURATION_MS', 30_000, WINDOW_MS, 600_000);
  const dir = mkdtempSync(join(tmpdir(), 'ratelimiter-bench-rlqs-'));
  const benchRules = writeBenchRules();
  writeFileSync(join(dir, 'bench.yaml'), readFileSync(benchRules.path, 'utf8'));
  benchRules.remove();
  const quotaLines = QUOTAS.map(
    ({ name, scale }) =>
      `  - { bucket: { name: ${name}, tenant: "*" }, requests_per_unit: ${limit * scale}, unit: second }`,
  );
  writeFileSync(join(dir, 'edge.yaml'), `domain: edge\nquotas:\n${quotaLines.join('\n')}\n`);
  const redis = await RedisServer.start();
  const args = ['--redis', redis.url, '--rules', dir, '--store-timeout-ms', '1000'];
  const nodes = await Promise.all([0, 1].map(() => ServiceProcess.start(args)));
  try {
    // /proc counts CPU in clock ticks (10 ms): the idle figure needs a long look.
    const idleBefore = cpuOf(nodes);
    await waitMs(10_000);
    const idleCpuUsPerS = (cpuOf(nodes) - idleBefore) / 10;
    const grpc = spread(await perRequestCpu(nodes[0] as ServiceProcess, knobs.rounds, knobs.httpDurationMs));
    console.log(
      `\nShouldRateLimit on one of the nodes: ${formatNumber(grpc.median, 1)} µs of service CPU per decision (${knobs.rounds} rounds of ${knobs.httpDurationMs} ms, 50 in flight, 4 channels); the two idle nodes: ${formatNumber(idleCpuUsPerS, 0)} µs/s together (heartbeats, timers)`,
    );
    for (const { name, scale } of QUOTAS) {
      const fleet = await runFleet(nodes, name, limit * scale, reportMs, durationMs, idleCpuUsPerS);
      printFleet(limit * scale, reportMs, durationMs, fleet, grpc.median);
      const label = `limit ${formatNumber(limit * scale)}/s`;
      targets.atMost(
        `RLQS admitted ÷ limit, worst 10 s window, ${label}`,
        1.02,
        spread([fleet.worstWindow]),
        'x',
      );
      targets.atLeast(`RLQS utilisation, ${label}`, 0.9, spread([fleet.utilisation]));
      targets.atLeast(
        `RLQS light proxies: share of demand admitted, ${label}`,
        0.95,
        spread([fleet.lightServedMin]),
      );
      targets.atMost(
        `RLQS heavy proxies: larger ÷ smaller admitted, ${label}`,
        1.1,
        spread([fleet.heavyApart]),
        'x',
      );
      targets.atLeast(
        `ShouldRateLimit CPU per decision ÷ RLQS CPU per admitted request, ${label}`,
        100,
        spread([grpc.median / fleet.cpuUsPerAdmitted]),
      );
    }
  } finally {
    await Promise.all(nodes.map((node) => node.stop('SIGTERM')));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
