import protobuf from 'protobufjs';
import { isUtf8 } from 'node:buffer';
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

const LENGTH_DELIMITED = 2;

/** Each length-delimited field of the message in bytes[start, end): its number and its bytes' span. */
function eachLengthDelimited(
  bytes: Buffer,
  start: number,
  end: number,
  visit: (field: number, from: number, to: number) => void,
): void {
  const reader = protobuf.Reader.create(bytes.subarray(start, end));
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if ((tag & 7) !== LENGTH_DELIMITED) {
      reader.skipType(tag & 7);
      continue;
    }
    const length = reader.uint32();
    visit(tag >>> 3, start + reader.pos, start + reader.pos + length);
    reader.skip(length);
  }
}

function requireUtf8(bytes: Buffer, from: number, to: number, field: string): void {
  if (!isUtf8(bytes.subarray(from, to)))
    throw new InvalidArgumentError(field, `${field} must be valid UTF-8 text`);
}

/**
 * The message's text fields must be UTF-8, as on the RLS path (rls-codec.ts): protobuf.js decodes
 * bad bytes to U+FFFD, which would make distinct bucket ids one. Reports (1 domain, 2 usages) →
 * BucketQuotaUsage (1 bucket_id) → BucketId (1 map entry) → entry (1 key, 2 value).
 */
function requireUtf8Text(bytes: Buffer): void {
  let usage = 0;
  eachLengthDelimited(bytes, 0, bytes.length, (field, from, to) => {
    if (field === 1) requireUtf8(bytes, from, to, 'domain');
    if (field !== 2) return;
    const name = `bucket_quota_usages[${usage++}].bucket_id`;
    eachLengthDelimited(bytes, from, to, (usageField, idFrom, idTo) => {
      if (usageField !== 1) return;
      eachLengthDelimited(bytes, idFrom, idTo, (idField, entryFrom, entryTo) => {
        if (idField !== 1) return;
        eachLengthDelimited(bytes, entryFrom, entryTo, (entryField, textFrom, textTo) => {
          if (entryField === 1 || entryField === 2) requireUtf8(bytes, textFrom, textTo, name);
        });
      });
    });
  });
}

/** One message of the stream; bytes that are no RateLimitQuotaUsageReports are the caller's error. */
export function decodeUsageReports(bytes: Buffer): UsageReports {
  let message: { domain?: string; bucket_quota_usages?: WireUsage[] };
  try {
    message = Reports.toObject(Reports.decode(bytes), { longs: Number, defaults: false });
  } catch {
    throw new InvalidArgumentError('reports', 'the message is not a valid RateLimitQuotaUsageReports');
  }
  // Only once it decodes: the walk then meets no malformed length.
  requireUtf8Text(bytes);
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
