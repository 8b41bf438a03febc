import type { QuotaShape } from '../core/quota-allocator.js';

/**
 * The shared state of RLQS quotas: per (bucket, stream) what the stream wants, what it holds and
 * until when, so that any service node can serve any stream and all of them split one limit.
 * Every store decides a report atomically with the bucket's other streams and passes the same
 * conformance suite (test/conformance/quotas.ts).
 */
export interface QuotaReport {
  /** The bucket: its domain and BucketId, as quotaKeyOf makes it. */
  quotaKey: string;
  /** One proxy's stream, unique across nodes and restarts. */
  stream: string;
  /** Tokens per fill interval the stream asks for (wantFor). */
  want: number;
  /** Measured demand in requests per second, kept only to be shown; undefined while unknown. */
  demandPerSecond: number | undefined;
  shape: QuotaShape;
  /** How long the store counts the grant: the assignment's TTL plus a margin (docs/rlqs.md). */
  holdMs: number;
  /**
   * Tokens the stream was last granted while that assignment is still live at the proxy. A store
   * that has no record of the stream then lost it (a Redis restart): the stream is granted at most
   * this, since the others it lost still enforce theirs unseen (docs/rlqs.md).
   */
  liveGrant?: number;
}

export interface QuotaGrant {
  /** tokens_per_fill granted (0: none). */
  tokens: number;
  /** max_tokens of the assignment. */
  burst: number;
  /** Live streams of the bucket, this one included. */
  streams: number;
  /** Tokens per fill interval the live streams hold together. */
  heldTokens: number;
}

/** One live stream of a bucket, as GET /v1/quotas shows it. */
export interface QuotaHolding {
  stream: string;
  want: number;
  tokens: number;
  burst: number;
  demandPerSecond: number | undefined;
  expiresInMs: number;
}

export interface QuotaStore {
  /** Record one report and grant the stream its share, atomically with the bucket's other streams. */
  report(report: QuotaReport): Promise<QuotaGrant>;
  /** The stream closed: its share is free at once. */
  release(quotaKey: string, stream: string): Promise<void>;
  /** The buckets with live streams (at most `limit`), each with its streams. */
  holdings(limit: number): Promise<Map<string, QuotaHolding[]>>;
}

/** A bucket's identity in the store: its domain and its BucketId with the keys in order. */
export function quotaKeyOf(domain: string, bucketId: ReadonlyMap<string, string>): string {
  const entries = [...bucketId].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([domain, entries]);
}

/** The inverse of quotaKeyOf, for listings. */
export function parseQuotaKey(quotaKey: string): { domain: string; bucket: Record<string, string> } {
  const [domain, entries] = JSON.parse(quotaKey) as [string, [string, string][]];
  return { domain, bucket: Object.fromEntries(entries) };
}

/** A holding as lua/quota-report.lua writes it: `want:tokens:burst:expiresAtMs:demand` (demand empty when unknown). */
export function decodeHolding(stream: string, value: string, nowMs: number): QuotaHolding | undefined {
  const [want, tokens, burst, expires, demand] = value.split(':');
  const expiresAt = Number(expires);
  if (!(expiresAt > nowMs)) return undefined;
  return {
    stream,
    want: Number(want),
    tokens: Number(tokens),
    burst: Number(burst),
    demandPerSecond: demand === undefined || demand === '' ? undefined : Number(demand),
    expiresInMs: expiresAt - nowMs,
  };
}
