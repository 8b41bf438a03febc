import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import type {
  Client,
  ClientDuplexStream,
  GrpcObject,
  ServiceClientConstructor,
  ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { EnvoyTokenBucket } from './envoy-token-bucket.js';

/*
 * A simulated Envoy proxy running the `rate_limit_quota` filter, built from the repo's `.proto`
 * files with proto-loader as any client would (it shares no code with the server). It enforces
 * assignments as Envoy's filter does (global_client_impl.cc): a bucket's first request sends a
 * report at once and is judged by `no_assignment_behavior`; a token bucket starts full, refills
 * continuously at tokens_per_fill / whole seconds of fill_interval and is kept when an identical
 * strategy arrives (the TTL is extended), replaced, full, by a different one; past its TTL the
 * bucket falls back to `expired_assignment_behavior`. Reports carry the usage since the last one
 * (time_elapsed in whole seconds) every `reportIntervalMs`; a broken stream is reopened on the next
 * report tick, on the next address of the list.
 */
/** One quota of 100 per second per tenant in domain `edge`, what the proxies here report into. */
export const EDGE_QUOTA_RULES = `
domain: edge
quotas:
  - bucket: { name: api, tenant: "*" }
    requests_per_unit: 100
    unit: second
`;

const PROTO_DIR = fileURLToPath(new URL('../proto', import.meta.url));
const definition = loadPackageDefinition(
  loadSync(['envoy/service/rate_limit_quota/v3/rlqs.proto'], {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    enums: String,
    longs: Number,
    defaults: false,
    oneofs: true,
  }),
);

function service(name: string): ServiceClientConstructor {
  let node: unknown = definition;
  for (const part of name.split('.')) node = (node as GrpcObject)[part];
  return node as ServiceClientConstructor;
}
const QuotaService = service('envoy.service.rate_limit_quota.v3.RateLimitQuotaService');

export interface WireUsage {
  bucket_id: { bucket: Record<string, string> };
  time_elapsed: { seconds: number; nanos?: number };
  num_requests_allowed: number;
  num_requests_denied: number;
}
export interface WireReports {
  domain?: string;
  bucket_quota_usages: WireUsage[];
}
export interface WireTokenBucket {
  max_tokens?: number;
  tokens_per_fill?: { value: number };
  fill_interval?: { seconds?: number; nanos?: number };
}
export interface WireAction {
  bucket_id: { bucket: Record<string, string> };
  quota_assignment_action?: {
    assignment_time_to_live?: { seconds?: number };
    rate_limit_strategy?: { blanket_rule?: string; token_bucket?: WireTokenBucket };
  };
  abandon_action?: object;
}
export interface WireResponse {
  bucket_action: WireAction[];
}

/** A raw stream of the RLQS service, for tests of bad input. */
export function openRlqsStream(address: string): {
  client: Client;
  stream: ClientDuplexStream<WireReports, WireResponse>;
} {
  const client = new QuotaService(address, credentials.createInsecure());
  const stream = (
    client as unknown as { StreamRateLimitQuotas(): ClientDuplexStream<WireReports, WireResponse> }
  ).StreamRateLimitQuotas();
  return { client, stream };
}

export type Behavior = 'allow' | 'deny';

export interface ProxyOptions {
  /** The service nodes; a broken stream reconnects to the next one. */
  addresses: string[];
  domain: string;
  reportIntervalMs?: number;
  noAssignment?: Behavior;
  expired?: Behavior;
  now?: () => number;
}

interface ProxyBucket {
  id: Record<string, string>;
  allowed: number;
  denied: number;
  lastReportMs: number;
  strategy: string | undefined;
  tokens: EnvoyTokenBucket | undefined;
  blanket: Behavior | undefined;
  expiresAtMs: number;
}

/** A token bucket the proxy started (full), for the bound: each adds its max_tokens once; a blanket rule is one of 0 tokens. */
export interface BucketStart {
  atMs: number;
  bucket: string;
  maxTokens: number;
  tokensPerFill: number;
}

/** What the proxy has done so far, in total. */
export interface ProxyTotals {
  allowed: number;
  denied: number;
  assignments: number;
  reconnects: number;
  streamErrors: string[];
}

export class SimulatedEnvoy {
  private readonly buckets = new Map<string, ProxyBucket>();
  private client: Client | undefined;
  private stream: ClientDuplexStream<WireReports, WireResponse> | undefined;
  private addressIndex = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  readonly totals: ProxyTotals = { allowed: 0, denied: 0, assignments: 0, reconnects: 0, streamErrors: [] };
  /** Every response received, newest last (for tests). */
  readonly responses: WireResponse[] = [];
  /** Every token bucket started, oldest first. */
  readonly bucketStarts: BucketStart[] = [];

  constructor(private readonly options: ProxyOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  start(): void {
    this.timer = setInterval(() => {
      this.reportAll();
    }, this.options.reportIntervalMs ?? 5000);
  }

  /** One request into a bucket: allowed or denied as Envoy's filter would decide it. */
  request(id: Record<string, string>): boolean {
    const key = JSON.stringify(Object.entries(id).sort());
    const now = this.now();
    let bucket = this.buckets.get(key);
    let allowed: boolean;
    if (!bucket) {
      allowed = (this.options.noAssignment ?? 'allow') === 'allow';
      bucket = {
        id,
        allowed: allowed ? 1 : 0,
        denied: allowed ? 0 : 1,
        lastReportMs: now,
        strategy: undefined,
        tokens: undefined,
        blanket: undefined,
        expiresAtMs: Infinity,
      };
      this.buckets.set(key, bucket);
      this.count(allowed);
      this.send([this.usage(bucket, now)]);
      return allowed;
    }
    if (bucket.strategy === undefined) allowed = (this.options.noAssignment ?? 'allow') === 'allow';
    else if (now >= bucket.expiresAtMs) allowed = (this.options.expired ?? 'deny') === 'allow';
    else if (bucket.tokens) allowed = bucket.tokens.consume(now);
    else allowed = bucket.blanket === 'allow';
    if (allowed) bucket.allowed++;
    else bucket.denied++;
    this.count(allowed);
    return allowed;
  }

  private count(allowed: boolean): void {
    if (allowed) this.totals.allowed++;
    else this.totals.denied++;
  }

  private usage(bucket: ProxyBucket, now: number): WireUsage {
    const usage: WireUsage = {
      bucket_id: { bucket: bucket.id },
      time_elapsed: { seconds: Math.floor((now - bucket.lastReportMs) / 1000) },
      num_requests_allowed: bucket.allowed,
      num_requests_denied: bucket.denied,
    };
    bucket.allowed = 0;
    bucket.denied = 0;
    bucket.lastReportMs = now;
    return usage;
  }

  /** The periodic report: every bucket's usage since the last one. */
  reportAll(): void {
    const now = this.now();
    const usages = [...this.buckets.values()].map((bucket) => this.usage(bucket, now));
    if (usages.length > 0) this.send(usages);
  }

  private send(usages: WireUsage[]): void {
    const stream = this.openStream();
    stream.write({ domain: this.options.domain, bucket_quota_usages: usages });
  }

  private openStream(): ClientDuplexStream<WireReports, WireResponse> {
    if (this.stream) return this.stream;
    const address = this.options.addresses[this.addressIndex % this.options.addresses.length] ?? '';
    const { client, stream } = openRlqsStream(address);
    this.client = client;
    this.stream = stream;
    stream.on('data', (response: WireResponse) => {
      this.apply(response);
    });
    const broken = (reason: string) => {
      if (this.stream !== stream) return;
      this.totals.streamErrors.push(reason);
      this.stream = undefined;
      client.close();
      this.addressIndex++;
      this.totals.reconnects++;
    };
    stream.on('error', (error: ServiceError) => {
      broken(`${error.code}: ${error.details}`);
    });
    stream.on('end', () => {
      broken('end');
    });
    return stream;
  }

  private apply(response: WireResponse): void {
    this.responses.push(response);
    const now = this.now();
    for (const action of response.bucket_action) {
      const key = JSON.stringify(Object.entries(action.bucket_id.bucket).sort());
      const bucket = this.buckets.get(key);
      if (!bucket) continue;
      if (action.abandon_action) {
        this.buckets.delete(key);
        continue;
      }
      const assignment = action.quota_assignment_action;
      if (!assignment) continue;
      this.totals.assignments++;
      const strategy = assignment.rate_limit_strategy ?? {};
      const ttlS = assignment.assignment_time_to_live?.seconds;
      bucket.expiresAtMs = ttlS === undefined ? Infinity : now + ttlS * 1000;
      const text = JSON.stringify(strategy);
      if (strategy.token_bucket) {
        const tb = strategy.token_bucket;
        // Kept when the same bucket comes again (the TTL is extended); replaced, full, otherwise.
        if (text !== bucket.strategy || !bucket.tokens) {
          bucket.tokens = new EnvoyTokenBucket(
            tb.max_tokens ?? 0,
            tb.tokens_per_fill?.value ?? 1,
            tb.fill_interval?.seconds ?? 0,
            now,
          );
          this.bucketStarts.push({
            atMs: now,
            bucket: key,
            maxTokens: bucket.tokens.maxTokens,
            tokensPerFill: bucket.tokens.tokensPerFill,
          });
        }
        bucket.blanket = undefined;
      } else {
        if (text !== bucket.strategy)
          this.bucketStarts.push({ atMs: now, bucket: key, maxTokens: 0, tokensPerFill: 0 });
        bucket.tokens = undefined;
        bucket.blanket = strategy.blanket_rule === 'DENY_ALL' ? 'deny' : 'allow';
      }
      bucket.strategy = text;
    }
  }

  /** The current assignment of a bucket, for tests: tokens per fill, or a blanket rule. */
  assignment(id: Record<string, string>): number | Behavior | undefined {
    const bucket = this.buckets.get(JSON.stringify(Object.entries(id).sort()));
    if (!bucket || bucket.strategy === undefined) return undefined;
    return bucket.tokens ? bucket.tokens.tokensPerFill : bucket.blanket;
  }

  /** Stop reporting but keep the stream open: a proxy gone silent (its share comes back at its TTL). */
  silence(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Close the stream (the server gives the share back) and stop reporting. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.stream?.cancel();
    this.stream = undefined;
    this.client?.close();
  }
}
