/**
 * The split of one global quota among the proxies (RLQS streams) that report it: pure arithmetic,
 * no store, no transport. lua/quota-report.lua is its twin for the part that must run atomically
 * where the shared state lives (fairTargets and grantFor); the stores' conformance suite runs the
 * same sequences against both. The bound these numbers keep is stated and proved in docs/rlqs.md.
 *
 * Units: an assignment is a token bucket of `tokens_per_fill` per `fillIntervalS` whole seconds
 * (Envoy reads only the seconds of a fill interval), so every share, want and demand here is in
 * tokens per fill interval.
 */

/**
 * How one quota is cut. Envoy refills an assignment's bucket continuously at tokens_per_fill /
 * fill_interval and caps it at max_tokens, so over any window of W seconds a proxy admits at most
 * `max_tokens + rate x W` (it may start the window full). Each live assignment therefore costs
 * `k x tokens + burst` of the window's budget, k being the window in fill intervals; the store
 * never lets the live costs exceed the budget, nor the live tokens the capacity.
 */
export interface QuotaShape {
  /** Whole seconds per fill interval: the fewest for which the limit is a whole number of tokens. */
  fillIntervalS: number;
  /** Tokens per fill interval the limit allows (requests_per_unit x fill interval / unit). */
  capacity: number;
  /** The window the bound is stated over, in fill intervals: max(unit, boundWindowS) / fill interval. */
  boundWindowFills: number;
  /** What the proxies may admit together over that window: (1 + tolerance) x the limit's share of it. */
  budget: number;
  /** The tokens per fill interval the fair split hands out: what the budget leaves room for. */
  assignable: number;
}

export interface ShapeOptions {
  /** The shortest window the over-admission bound is stated over, in seconds (default 10). */
  boundWindowS?: number;
  /** The over-admission allowed over that window, as a fraction of the limit (default 0.02). */
  tolerance?: number;
}

export const DEFAULT_BOUND_WINDOW_S = 10;
export const DEFAULT_TOLERANCE = 0.02;
/** max_tokens as a fraction of tokens_per_fill: room for a light proxy's jitter, little burst to bound. */
export const BURST_FRACTION = 0.5;

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** The shape of a quota of `requestsPerUnit` per `unitSeconds` (a whole number of seconds). */
export function quotaShape(
  requestsPerUnit: number,
  unitSeconds: number,
  options: ShapeOptions = {},
): QuotaShape {
  const boundWindowS = options.boundWindowS ?? DEFAULT_BOUND_WINDOW_S;
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  if (requestsPerUnit === 0) {
    return { fillIntervalS: unitSeconds, capacity: 0, boundWindowFills: 1, budget: 0, assignable: 0 };
  }
  const divisor = gcd(requestsPerUnit, unitSeconds);
  const fillIntervalS = unitSeconds / divisor;
  const capacity = requestsPerUnit / divisor;
  const k = Math.max(1, Math.floor(Math.max(unitSeconds, boundWindowS) / fillIntervalS));
  // A quota too small for the tolerance keeps room for one token: its excess is then at most one
  // token per window (docs/rlqs.md).
  const budget = Math.max(Math.floor(capacity * k * (1 + tolerance)), assignmentCost(1, k));
  const assignable = Math.min(capacity, Math.max(1, Math.floor(budget / (k + BURST_FRACTION))));
  return { fillIntervalS, capacity, boundWindowFills: k, budget, assignable };
}

/** max_tokens of an assignment of `tokens` per fill interval (0 for none). */
export function burstFor(tokens: number): number {
  return tokens <= 0 ? 0 : Math.max(1, Math.ceil(tokens * BURST_FRACTION));
}

/** What an assignment may admit over the bound's window of k fill intervals: its burst plus k fills. */
export function assignmentCost(tokens: number, k: number): number {
  return tokens * k + burstFor(tokens);
}

/** Headroom given on top of measured demand, so a proxy asking little can grow before its next report. */
export const HEADROOM_FRACTION = 0.1;

/**
 * What a stream asks for, in tokens per fill interval: its measured demand (allowed + denied) plus
 * headroom, at least one token above it; everything assignable while its demand is unknown (its
 * first report), which the fair split then cuts down to an equal share.
 */
export function wantFor(demandTokens: number | undefined, shape: QuotaShape): number {
  if (demandTokens === undefined) return shape.assignable;
  const demand = Math.max(0, demandTokens);
  const wanted = Math.max(Math.ceil(demand * (1 + HEADROOM_FRACTION)), Math.ceil(demand) + 1);
  return Math.min(shape.assignable, wanted);
}

/** One stream's entry in the shared state of a quota. */
export interface StreamWant {
  stream: string;
  want: number;
}

/**
 * Max-min fair shares of `assignable` tokens over the streams' wants (water filling): a stream
 * wanting less than an equal share of what is left gets its want, the rest is split evenly among
 * the others, the odd tokens to the first of them in (want, stream) order so both twins agree.
 * The shares sum to at most `assignable` and never exceed a want.
 */
export function fairTargets(assignable: number, streams: readonly StreamWant[]): Map<string, number> {
  const ordered = [...streams].sort((a, b) =>
    a.want !== b.want ? a.want - b.want : a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0,
  );
  const targets = new Map<string, number>();
  let remaining = Math.max(0, assignable);
  for (let index = 0; index < ordered.length; index++) {
    const { stream, want } = ordered[index] as StreamWant;
    const left = ordered.length - index;
    const share = Math.floor(remaining / left);
    if (want <= share) {
      targets.set(stream, want);
      remaining -= want;
      continue;
    }
    // Every stream from here wants more than an equal share: they split what is left.
    const odd = remaining - share * left;
    for (let rest = index; rest < ordered.length; rest++) {
      targets.set((ordered[rest] as StreamWant).stream, share + (rest - index < odd ? 1 : 0));
    }
    break;
  }
  return targets;
}

/** A change of share smaller than this keeps the current assignment, so Envoy keeps its bucket. */
export function hysteresisBand(shape: QuotaShape): number {
  return Math.max(1, Math.floor(shape.assignable * 0.02));
}

/** What the other live streams of a quota hold: their tokens and their costs (assignmentCost). */
export interface HeldByOthers {
  tokens: number;
  cost: number;
}

/** The most a stream may be granted, up to `wanted`, beside what the others hold. */
export function largestFit(wanted: number, others: HeldByOthers, shape: QuotaShape): number {
  const k = shape.boundWindowFills;
  const room = shape.budget - others.cost;
  let tokens = Math.min(wanted, shape.capacity - others.tokens, Math.floor(room / (k + BURST_FRACTION)));
  while (tokens > 0 && assignmentCost(tokens, k) > room) tokens -= 1;
  return Math.max(0, tokens);
}

/**
 * How far the other streams are below their fair targets, counting only those short by more than
 * the hysteresis band (the others are served as they are): tokens and costs (assignmentCost) they
 * would take to reach them.
 */
export function shortfallOfOthers(
  targets: ReadonlyMap<string, number>,
  holdings: ReadonlyMap<string, number>,
  stream: string,
  shape: QuotaShape,
): HeldByOthers {
  const band = hysteresisBand(shape);
  const k = shape.boundWindowFills;
  const short = { tokens: 0, cost: 0 };
  for (const [id, target] of targets) {
    const held = holdings.get(id) ?? 0;
    if (id === stream || target - held <= band) continue;
    short.tokens += target - held;
    short.cost += assignmentCost(target, k) - assignmentCost(held, k);
  }
  return short;
}

/**
 * What a stream is granted now: its fair target, but only out of what the other live streams do
 * not hold, since they enforce their assignments until they next hear from us. So the live
 * assignments never exceed the capacity nor their costs the budget. A target within the
 * hysteresis band of what the stream holds keeps what it holds (a changed assignment is a new,
 * full bucket in Envoy), but a holding above the target only while it leaves room for the others
 * short of theirs (`shortfall`): kept, it would otherwise starve them for good.
 */
export function grantFor(
  target: number,
  held: number,
  others: HeldByOthers,
  shape: QuotaShape,
  shortfall: HeldByOthers,
): number {
  if (
    held > 0 &&
    Math.abs(target - held) <= hysteresisBand(shape) &&
    largestFit(held, others, shape) === held &&
    (held <= target ||
      largestFit(
        held,
        { tokens: others.tokens + shortfall.tokens, cost: others.cost + shortfall.cost },
        shape,
      ) === held)
  ) {
    return held;
  }
  return largestFit(target, others, shape);
}

/** A grant for a stream whose record the store lost while its assignment is live: no more than it held. */
export function grantAfterLoss(grant: number, liveGrant: number | undefined, recorded: boolean): number {
  return recorded || liveGrant === undefined ? grant : Math.min(grant, liveGrant);
}

/** Envoy's token bucket for a share, or a blanket denial for none (a bucket needs tokens_per_fill > 0). */
export type QuotaStrategy =
  | { kind: 'token-bucket'; maxTokens: number; tokensPerFill: number; fillIntervalS: number }
  | { kind: 'blanket'; rule: 'ALLOW_ALL' | 'DENY_ALL' };

/** Envoy starts a new bucket full: `max_tokens` is burstFor(share), which the budget accounts for. */
export function strategyFor(share: number, shape: QuotaShape): QuotaStrategy {
  if (share <= 0) return { kind: 'blanket', rule: 'DENY_ALL' };
  return {
    kind: 'token-bucket',
    maxTokens: burstFor(share),
    tokensPerFill: share,
    fillIntervalS: shape.fillIntervalS,
  };
}

/** Demand in tokens per fill interval from a report's counts over `elapsedMs` of our own receive times. */
export function demandTokens(requests: number, elapsedMs: number, shape: QuotaShape): number | undefined {
  if (!(elapsedMs > 0)) return undefined;
  return (requests * shape.fillIntervalS * 1000) / elapsedMs;
}
