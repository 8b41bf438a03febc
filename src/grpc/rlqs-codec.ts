import protobuf from 'protobufjs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../core/errors.js';
import type { QuotaStrategy } from '../core/quota-allocator.js';
import type { BucketAction, UsageReports } from '../envoy/quota-service.js';
import { PROTO_DIR } from './protos.js';

/*
 * The RLQS messages (envoy.service.rate_limit_quota.v3, proto/) by protobuf.js reflection, loaded
 * once from the .proto files. Reflection, not a static codec as for ShouldRateLimit: a proxy sends
 * one report per bucket set every few seconds, so the codec's cost is nothing beside the store
 * call, and reflection keeps the message shapes in the .proto files alone.
 */

const RLQS_PROTO = 'envoy/service/rate_limit_quota/v3/rlqs.proto';

function loadRoot(): protobuf.Root {
  const root = new protobuf.Root();
  // google/protobuf/* are protobuf.js's bundled copies; everything else is ours.
  root.resolvePath = (_origin, target) =>
    target.startsWith('google/protobuf/') ? target : join(PROTO_DIR, target);
  return root.loadSync(RLQS_PROTO, { keepCase: true });
}

const root = loadRoot();
const Reports = root.lookupType('envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports');
const Response = root.lookupType('envoy.service.rate_limit_quota.v3.RateLimitQuotaResponse');

/** The service's full name and the stream's path, as Envoy calls them. */
export const RLQS_SERVICE = 'envoy.service.rate_limit_quota.v3.RateLimitQuotaService';
export const RLQS_STREAM_PATH = `/${RLQS_SERVICE}/StreamRateLimitQuotas`;

interface WireUsage {
  bucket_id?: { bucket?: Record<string, string> };
  time_elapsed?: { seconds?: number; nanos?: number };
  num_requests_allowed?: number;
  num_requests_denied?: number;
}

/** One message of the stream; bytes that are no RateLimitQuotaUsageReports are the caller's error. */
export function decodeUsageReports(bytes: Buffer): UsageReports {
  let message: { domain?: string; bucket_quota_usages?: WireUsage[] };
  try {
    message = Reports.toObject(Reports.decode(bytes), { longs: Number, defaults: false });
  } catch {
    throw new InvalidArgumentError('reports', 'the message is not a valid RateLimitQuotaUsageReports');
  }
  return {
    domain: message.domain ?? '',
    usages: (message.bucket_quota_usages ?? []).map((usage) => ({
      bucketId: new Map(Object.entries(usage.bucket_id?.bucket ?? {})),
      timeElapsedS: usage.time_elapsed?.seconds ?? 0,
      allowed: usage.num_requests_allowed ?? 0,
      denied: usage.num_requests_denied ?? 0,
    })),
  };
}

function strategyMessage(strategy: QuotaStrategy): object {
  if (strategy.kind === 'blanket') return { blanket_rule: strategy.rule === 'DENY_ALL' ? 1 : 0 };
  return {
    token_bucket: {
      max_tokens: strategy.maxTokens,
      tokens_per_fill: { value: strategy.tokensPerFill },
      fill_interval: { seconds: strategy.fillIntervalS },
    },
  };
}

/** A RateLimitQuotaResponse of assignments (and abandons), in order. */
export function encodeQuotaResponse(actions: readonly BucketAction[]): Buffer {
  const message = Response.fromObject({
    bucket_action: actions.map((action) => ({
      bucket_id: { bucket: Object.fromEntries(action.bucketId) },
      ...(action.kind === 'abandon'
        ? { abandon_action: {} }
        : {
            quota_assignment_action: {
              assignment_time_to_live: { seconds: action.ttlS },
              rate_limit_strategy: strategyMessage(action.strategy),
            },
          }),
    })),
  });
  return Buffer.from(Response.encode(message).finish());
}
