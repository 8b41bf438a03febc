import { SimulatedEnvoy } from './rlqs-proxy.js';
import type { ProxyOptions } from './rlqs-proxy.js';

/*
 * A fleet of simulated Envoy proxies (support/rlqs-proxy.ts) under offered load, for the RLQS fleet
 * tests and `npm run bench rlqs`: each proxy sends its demand (requests per second) into one bucket
 * on a shared tick, and what it admits is counted in bins of BIN_MS, so that admission can be summed
 * over any window afterwards. Every loop is bounded: the tick stops with stop().
 */

export const BIN_MS = 100;

export interface FleetProxy {
  readonly name: string;
  readonly envoy: SimulatedEnvoy;
  readonly bucket: Record<string, string>;
  /** Offered requests per second; change it to shift demand. */
  demandPerSecond: number;
  /** Requests admitted, per bin since the fleet's start. */
  readonly admitted: number[];
  /** Requests offered, per bin since the fleet's start. */
  readonly offered: number[];
  /** Still sending requests (a stopped or silenced proxy sends none). */
  active: boolean;
}

export class ProxyFleet {
  readonly proxies: FleetProxy[] = [];
  readonly startMs = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private lastTickMs = this.startMs;
  private readonly owed = new Map<FleetProxy, number>();

  constructor(private readonly tickMs = 10) {}

  /** A started proxy offering `demandPerSecond` to `bucket`. */
  add(
    name: string,
    options: ProxyOptions,
    bucket: Record<string, string>,
    demandPerSecond: number,
  ): FleetProxy {
    const envoy = new SimulatedEnvoy(options);
    envoy.start();
    const proxy: FleetProxy = {
      name,
      envoy,
      bucket,
      demandPerSecond,
      admitted: [],
      offered: [],
      active: true,
    };
    this.proxies.push(proxy);
    return proxy;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.tick();
    }, this.tickMs);
  }

  private tick(): void {
    const now = performance.now();
    const elapsedS = (now - this.lastTickMs) / 1000;
    this.lastTickMs = now;
    const bin = this.binAt(now);
    for (const proxy of this.proxies) {
      if (!proxy.active) continue;
      // Fractions carry over, so the offered rate is the demand whatever the tick's jitter.
      const owed = (this.owed.get(proxy) ?? 0) + proxy.demandPerSecond * elapsedS;
      const requests = Math.floor(owed);
      this.owed.set(proxy, owed - requests);
      let admitted = 0;
      for (let i = 0; i < requests; i++) if (proxy.envoy.request(proxy.bucket)) admitted++;
      proxy.admitted[bin] = (proxy.admitted[bin] ?? 0) + admitted;
      proxy.offered[bin] = (proxy.offered[bin] ?? 0) + requests;
    }
  }

  /** Milliseconds since the fleet's start. */
  elapsedMs(): number {
    return performance.now() - this.startMs;
  }

  private binAt(nowMs: number): number {
    return Math.floor((nowMs - this.startMs) / BIN_MS);
  }

  /** The proxy stops sending and closes its stream (its share is free at once). */
  leave(proxy: FleetProxy): void {
    proxy.active = false;
    proxy.envoy.stop();
  }

  /** The proxy stops sending and reporting, its stream left open (its share is free at its TTL). */
  fallSilent(proxy: FleetProxy): void {
    proxy.active = false;
    proxy.envoy.silence();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const proxy of this.proxies) proxy.envoy.stop();
  }
}

/** Sum of bins [fromMs, toMs) of fleet time, of the given proxies. */
export function sumBins(
  proxies: readonly FleetProxy[],
  series: 'admitted' | 'offered',
  fromMs: number,
  toMs: number,
): number {
  let total = 0;
  for (const proxy of proxies) {
    for (let bin = Math.floor(fromMs / BIN_MS); bin < Math.floor(toMs / BIN_MS); bin++) {
      total += proxy[series][bin] ?? 0;
    }
  }
  return total;
}

/** One window of the bound: what the proxies admitted in it, and what docs/rlqs.md allows there. */
export interface WindowCheck {
  fromMs: number;
  admitted: number;
  bound: number;
}

/**
 * Every window of `widthMs` (sliding by one bin) in [fromMs, toMs), with the bound of docs/rlqs.md
 * over it: the limit's rate times the window, plus what the proxies' buckets can hold at its start
 * (each bucket's max_tokens) and the max_tokens of every bucket started within it (a changed
 * assignment starts full), plus one request per proxy for an answer in flight.
 */
export function windowChecks(
  fleet: ProxyFleet,
  limitPerSecond: number,
  widthMs: number,
  fromMs: number,
  toMs: number,
): WindowCheck[] {
  const checks: WindowCheck[] = [];
  const { proxies } = fleet;
  for (let start = fromMs; start + widthMs <= toMs; start += BIN_MS) {
    const end = start + widthMs;
    let bursts = 0;
    for (const proxy of proxies) {
      const starts = proxy.envoy.bucketStarts.map((entry) => ({
        ...entry,
        atMs: entry.atMs - fleet.startMs,
      }));
      const inForce = starts.filter((entry) => entry.atMs < start).at(-1);
      bursts += (inForce?.maxTokens ?? 0) + 1;
      for (const entry of starts) if (entry.atMs >= start && entry.atMs < end) bursts += entry.maxTokens;
      // A new proxy admits everything until its first assignment (no_assignment_behavior: allow).
      const first = starts[0]?.atMs ?? Infinity;
      if (first >= start) bursts += sumBins([proxy], 'admitted', start, Math.min(end, first + BIN_MS));
    }
    checks.push({
      fromMs: start,
      admitted: sumBins(proxies, 'admitted', start, end),
      bound: (limitPerSecond * widthMs) / 1000 + bursts,
    });
  }
  return checks;
}

/** The most the proxies' assignments in force summed to at any moment of [fromMs, toMs), in tokens per fill. */
export function maxAssignedSum(fleet: ProxyFleet, fromMs: number, toMs: number): number {
  const changes = fleet.proxies
    .flatMap((proxy, index) =>
      proxy.envoy.bucketStarts.map((entry) => ({
        index,
        atMs: entry.atMs - fleet.startMs,
        tokens: entry.tokensPerFill,
      })),
    )
    .sort((a, b) => a.atMs - b.atMs);
  const current = new Map<number, number>();
  const sum = () => [...current.values()].reduce((total, tokens) => total + tokens, 0);
  let most = 0;
  for (const change of changes) {
    if (change.atMs >= toMs) break;
    current.set(change.index, change.tokens);
    if (change.atMs >= fromMs) most = Math.max(most, sum());
  }
  return Math.max(most, sum());
}
