import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '../core/errors.js';
import { demandTokens, hysteresisBand, quotaShape, strategyFor, wantFor } from '../core/quota-allocator.js';
import type { QuotaShape, QuotaStrategy } from '../core/quota-allocator.js';
import { MAX_BUCKET_KEYS, bucketIdentity, matchQuota } from '../rules/quotas.js';
import type { QuotaRule } from '../rules/quotas.js';
import type { RuleSet } from '../rules/types.js';
import { quotaKeyOf } from '../stores/quota-store.js';
import type { QuotaReport, QuotaStore } from '../stores/quota-store.js';

/** One bucket's usage in a report, as the codec reads it. */
export interface UsageReport {
  bucketId: ReadonlyMap<string, string>;
  /** Envoy's time_elapsed, whole seconds (0 in a bucket's first report). */
  timeElapsedS: number;
  allowed: number;
  denied: number;
}

export interface UsageReports {
  domain: string;
  usages: readonly UsageReport[];
}

export type BucketAction =
  | { kind: 'assign'; bucketId: ReadonlyMap<string, string>; ttlS: number; strategy: QuotaStrategy }
  | { kind: 'abandon'; bucketId: ReadonlyMap<string, string> };

/** Too much from one client (buckets per stream, streams per node): gRPC RESOURCE_EXHAUSTED. */
export class QuotaLimitError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'QuotaLimitError';
  }
}

/** One answered report of a bucket a quota matched, as metrics learn it. */
export interface QuotaReportEvent {
  rule: QuotaRule;
  domain: string;
  stream: string;
  /** The bucket in the store (quotaKeyOf): its domain and BucketId. */
  bucket: string;
  usage: UsageReport;
  /** tokens_per_fill granted (0: none), per fill interval of `fillIntervalS` seconds. */
  tokens: number;
  fillIntervalS: number;
  ttlS: number;
  /** The stream held another assignment of the bucket before this one. */
  changed: boolean;
}

/** What metrics learn of the streams: each answered report of a matched bucket, and each close. */
export interface QuotaObserver {
  reported(event: QuotaReportEvent): void;
  closed(stream: string): void;
}

export interface QuotaServiceOptions {
  store: QuotaStore;
  rules: () => RuleSet;
  unmatched: 'allow' | 'deny';
  maxTtlS: number;
  maxBucketsPerStream: number;
  maxStreams: number;
  nodeId: string;
  /** Our receive times (ms); demand and report intervals are measured on them. */
  nowMs?: () => number;
  onStoreFailure?: (error: unknown) => void;
  observer?: QuotaObserver;
}

/** Envoy's report interval (5 s) until a stream shows its own. */
export const ASSUMED_REPORT_INTERVAL_MS = 5000;
/** An assignment lives this many report intervals: two reports may be lost before it expires. */
export const TTL_INTERVALS = 3;
/** The store counts a grant this long past its TTL, so it outlives the proxy's copy (docs/rlqs.md). */
export const HOLD_MARGIN_MS = 1000;
/** A bucket key or value longer than this is refused: ids are a few short labels. */
export const MAX_BUCKET_TEXT = 256;
/** Requests one report may claim; more is absurd and clamped (it only ever asks for a fair share). */
const MAX_REPORTED_REQUESTS = 1e12;

interface BucketState {
  lastMs: number;
  intervalMs: number | undefined;
  quotaKey: string | undefined;
  lastStrategy: string | undefined;
  /** Tokens last granted, and until when (our clock) the proxy enforces them. */
  liveGrant: { tokens: number; untilMs: number } | undefined;
  /** The last report as the store took it, to decide the bucket again between reports (a push). */
  last:
    { report: QuotaReport; bucketId: ReadonlyMap<string, string>; ttlS: number; rule: QuotaRule } | undefined;
}

/** Streams of one bucket decided again at most this many at a time, when another's demand moves. */
export const MAX_PUSHES = 64;

const shapes = new WeakMap<QuotaRule, QuotaShape>();
function shapeOf(rule: QuotaRule): QuotaShape {
  let shape = shapes.get(rule);
  if (!shape) {
    shape = quotaShape(rule.requestsPerUnit, rule.unitSeconds);
    shapes.set(rule, shape);
  }
  return shape;
}

/**
 * The Rate Limit Quota Service without its transport: streams open, report and close here; the
 * split lives in the quota store, so any node serves any stream.
 */
export class QuotaService {
  private streams = 0;
  private sequence = 0;
  /** Unique across nodes and restarts: a restarted node's streams never meet its old records. */
  private readonly incarnation = randomBytes(4).toString('hex');
  readonly nowMs: () => number;

  constructor(readonly options: QuotaServiceOptions) {
    this.nowMs = options.nowMs ?? (() => performance.now());
  }

  get openStreams(): number {
    return this.streams;
  }

  private readonly subscribers = new Map<string, Set<QuotaStream>>();
  private pushes: Promise<unknown> = Promise.resolve();

  /** The stream reports the bucket: it hears of the bucket's changes between its reports. */
  subscribe(quotaKey: string, stream: QuotaStream): void {
    let streams = this.subscribers.get(quotaKey);
    if (!streams) {
      streams = new Set();
      this.subscribers.set(quotaKey, streams);
    }
    streams.add(stream);
  }

  unsubscribe(quotaKey: string, stream: QuotaStream): void {
    const streams = this.subscribers.get(quotaKey);
    streams?.delete(stream);
    if (streams?.size === 0) this.subscribers.delete(quotaKey);
  }

  /**
   * A stream's demand moved (or it left): this node's other streams of the bucket are decided again
   * now, so one holding more than its new share gives it back without waiting for its own report,
   * and one short of its share takes what was freed (docs/rlqs.md). Streams on other nodes hear at
   * their next report.
   */
  nudge(quotaKey: string, from: QuotaStream): void {
    const others = [...(this.subscribers.get(quotaKey) ?? [])].filter((stream) => stream !== from);
    const round = Promise.all(others.slice(0, MAX_PUSHES).map((stream) => stream.redecide(quotaKey)));
    this.pushes = Promise.all([this.pushes, round]);
  }

  /** Every push started so far has been decided and sent (for tests). */
  async pushed(): Promise<void> {
    await this.pushes;
  }

  /** A new stream (one proxy), or QuotaLimitError past the node's bound. */
  open(): QuotaStream {
    if (this.streams >= this.options.maxStreams) {
      throw new QuotaLimitError('streams', `this node holds ${this.options.maxStreams} RLQS streams already`);
    }
    this.streams++;
    return new QuotaStream(this, `${this.options.nodeId}:${this.incarnation}:${++this.sequence}`, () => {
      this.streams--;
    });
  }
}

export class QuotaStream {
  private domain: string | undefined;
  private readonly buckets = new Map<string, BucketState>();
  private closed = false;
  private isClosed(): boolean {
    return this.closed;
  }

  /** Where assignments decided between reports go (the transport's write); none: no pushes. */
  onPush: ((actions: BucketAction[]) => void) | undefined;

  constructor(
    private readonly service: QuotaService,
    readonly id: string,
    private readonly onClosed: () => void,
  ) {}

  /** One message: each bucket reported gets its assignment (none when the store could not answer). */
  async receive(reports: UsageReports): Promise<BucketAction[]> {
    if (this.domain === undefined) {
      if (reports.domain === '')
        throw new InvalidArgumentError('domain', 'the first report of a stream must name its domain');
      this.domain = reports.domain;
    } else if (reports.domain !== '' && reports.domain !== this.domain) {
      throw new InvalidArgumentError(
        'domain',
        'a stream keeps the domain of its first report; open a new one for another',
      );
    }
    if (reports.usages.length === 0) {
      throw new InvalidArgumentError('bucket_quota_usages', 'a report must carry at least one bucket usage');
    }
    reports.usages.forEach((usage, index) => {
      validateBucketId(usage.bucketId, `bucket_quota_usages[${index}].bucket_id`);
    });
    const actions: BucketAction[] = [];
    for (const usage of reports.usages) {
      const action = await this.report(this.domain, usage);
      if (action) actions.push(action);
    }
    return actions;
  }

  private async report(domain: string, usage: UsageReport): Promise<BucketAction | undefined> {
    const { options } = this.service;
    const nowMs = this.service.nowMs();
    const identity = bucketIdentity(usage.bucketId);
    let state = this.buckets.get(identity);
    const fresh = state === undefined;
    if (!state) {
      if (this.buckets.size >= options.maxBucketsPerStream) {
        throw new QuotaLimitError(
          'bucket_quota_usages',
          `a stream may report at most ${options.maxBucketsPerStream} buckets`,
        );
      }
      state = {
        lastMs: nowMs,
        intervalMs: undefined,
        quotaKey: undefined,
        lastStrategy: undefined,
        liveGrant: undefined,
        last: undefined,
      };
      this.buckets.set(identity, state);
    }
    // Our own receive times; Envoy's whole-second time_elapsed only for a bucket new to this stream.
    const elapsedMs = fresh ? usage.timeElapsedS * 1000 : nowMs - state.lastMs;
    if (!fresh && elapsedMs > 0) state.intervalMs = elapsedMs;
    state.lastMs = nowMs;
    const interval = Math.min(state.intervalMs ?? ASSUMED_REPORT_INTERVAL_MS, options.maxTtlS * 1000);
    const ttlS = Math.min(options.maxTtlS, Math.max(1, Math.ceil((TTL_INTERVALS * interval) / 1000)));

    const rule = matchQuota(options.rules().domains.get(domain)?.quotas ?? [], usage.bucketId);
    if (!rule) {
      return this.assign(usage, state, ttlS, {
        kind: 'blanket',
        rule: options.unmatched === 'allow' ? 'ALLOW_ALL' : 'DENY_ALL',
      });
    }
    const shape = shapeOf(rule);
    const quotaKey = quotaKeyOf(domain, usage.bucketId);
    const observe = (tokens: number, changed: boolean) => {
      options.observer?.reported({
        rule,
        domain,
        stream: this.id,
        bucket: quotaKey,
        usage,
        tokens,
        fillIntervalS: shape.fillIntervalS,
        ttlS,
        changed,
      });
    };
    if (shape.capacity === 0) {
      observe(0, false);
      return this.assign(usage, state, ttlS, { kind: 'blanket', rule: 'DENY_ALL' });
    }
    const requests = Math.min(MAX_REPORTED_REQUESTS, usage.allowed + usage.denied);
    const demand = demandTokens(requests, elapsedMs, shape);
    state.quotaKey = quotaKey;
    const report: QuotaReport = {
      quotaKey,
      stream: this.id,
      want: wantFor(demand, shape),
      demandPerSecond: demand === undefined ? undefined : demand / shape.fillIntervalS,
      shape,
      holdMs: ttlS * 1000 + HOLD_MARGIN_MS,
    };
    const moved =
      state.last === undefined || Math.abs(report.want - state.last.report.want) > hysteresisBand(shape);
    state.last = { report, bucketId: usage.bucketId, ttlS, rule };
    this.service.subscribe(quotaKey, this);
    let granted;
    try {
      granted = await options.store.report({
        ...report,
        ...(state.liveGrant && state.liveGrant.untilMs > nowMs ? { liveGrant: state.liveGrant.tokens } : {}),
      });
    } catch (error) {
      // Unanswered, the proxy keeps its assignment until its TTL: never more than it was granted.
      options.onStoreFailure?.(error);
      return undefined;
    }
    if (this.closed) {
      await options.store.release(quotaKey, this.id).catch(options.onStoreFailure);
      return undefined;
    }
    const strategy = strategyFor(granted.tokens, shape);
    const changed = state.lastStrategy !== undefined && state.lastStrategy !== JSON.stringify(strategy);
    observe(granted.tokens, changed);
    state.liveGrant = { tokens: granted.tokens, untilMs: nowMs + ttlS * 1000 };
    if (moved) this.service.nudge(quotaKey, this);
    // A proxy back on a new stream (time_elapsed > 0) still enforces its last assignment, which
    // the store counts under its old stream until that expires: better kept than replaced by a denial.
    if (granted.tokens === 0 && fresh && usage.timeElapsedS > 0) return undefined;
    return this.assign(usage, state, ttlS, strategy);
  }

  private assign(
    usage: UsageReport,
    state: BucketState,
    ttlS: number,
    strategy: QuotaStrategy,
  ): BucketAction {
    state.lastStrategy = JSON.stringify(strategy);
    return { kind: 'assign', bucketId: usage.bucketId, ttlS, strategy };
  }

  /**
   * Decide a bucket again between reports, on what the stream last reported, and send the proxy
   * its assignment if it changed. The store's record is renewed with it, as the proxy's TTL is.
   */
  async redecide(quotaKey: string): Promise<void> {
    const state = [...this.buckets.values()].find((bucket) => bucket.quotaKey === quotaKey);
    const push = this.onPush;
    if (this.closed || !push || !state?.last) return;
    const { report, bucketId, ttlS, rule } = state.last;
    const { options } = this.service;
    let granted;
    try {
      granted = await options.store.report(report);
    } catch (error) {
      options.onStoreFailure?.(error);
      return;
    }
    // Read through a function: it may have closed while the store answered.
    if (this.isClosed()) return;
    const strategy = strategyFor(granted.tokens, report.shape);
    if (JSON.stringify(strategy) === state.lastStrategy) return;
    options.observer?.reported({
      rule,
      domain: this.domain ?? '',
      stream: this.id,
      bucket: quotaKey,
      usage: { bucketId, timeElapsedS: 0, allowed: 0, denied: 0 },
      tokens: granted.tokens,
      fillIntervalS: report.shape.fillIntervalS,
      ttlS,
      changed: true,
    });
    state.liveGrant = { tokens: granted.tokens, untilMs: this.service.nowMs() + ttlS * 1000 };
    state.lastStrategy = JSON.stringify(strategy);
    push([{ kind: 'assign', bucketId, ttlS, strategy }]);
  }

  /** The stream ended: every share it held is free at once, and this node's others may take it now. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClosed();
    const { store, onStoreFailure, observer } = this.service.options;
    observer?.closed(this.id);
    const quotaKeys = [...this.buckets.values()]
      .map(({ quotaKey }) => quotaKey)
      .filter((quotaKey): quotaKey is string => quotaKey !== undefined);
    await Promise.all(quotaKeys.map((quotaKey) => store.release(quotaKey, this.id).catch(onStoreFailure)));
    for (const quotaKey of quotaKeys) {
      this.service.unsubscribe(quotaKey, this);
      this.service.nudge(quotaKey, this);
    }
  }
}

function validateBucketId(bucketId: ReadonlyMap<string, string>, field: string): void {
  if (bucketId.size === 0) throw new InvalidArgumentError(field, `${field} must have at least one key`);
  if (bucketId.size > MAX_BUCKET_KEYS)
    throw new InvalidArgumentError(field, `${field} must have at most ${MAX_BUCKET_KEYS} keys`);
  for (const [key, value] of bucketId) {
    if (key === '' || value === '')
      throw new InvalidArgumentError(field, `${field} keys and values must not be empty`);
    if (key.length > MAX_BUCKET_TEXT || value.length > MAX_BUCKET_TEXT) {
      throw new InvalidArgumentError(
        field,
        `${field} keys and values must be at most ${MAX_BUCKET_TEXT} characters`,
      );
    }
  }
}
