import type { DescriptorEntry, LimitOverride } from '../rules/match.js';
import type { RuleUnit } from '../rules/types.js';
import type { AppliedPolicy, HeaderValue } from '../protocol/headers.js';

/*
 * Envoy's RateLimitRequest and RateLimitResponse as plain values, free of any transport: the
 * gRPC edge and the JSON routes translate to and from these, and nothing else sees protobuf.
 */

export interface RateLimitDescriptor {
  entries: readonly DescriptorEntry[];
  /** Envoy's `limit` override: used instead of the rules file's limit. */
  limit?: LimitOverride | undefined;
  /** Overrides the request's hits_addend for this descriptor; 0 checks without spending. */
  hitsAddend?: number | undefined;
}

export interface RateLimitRequest {
  domain: string;
  descriptors: readonly RateLimitDescriptor[];
  /** Units each descriptor spends unless it says otherwise; 0 or absent means 1 (as in Envoy). */
  hitsAddend?: number | undefined;
}

export type ResponseCode = 'OK' | 'OVER_LIMIT';

export interface CurrentLimit {
  name?: string | undefined;
  requestsPerUnit: number;
  unit: RuleUnit;
}

export interface DescriptorStatus {
  code: ResponseCode;
  /** Absent when no limit applied (no match, unknown domain, unlimited, replaced). */
  currentLimit?: CurrentLimit | undefined;
  limitRemaining: number;
  durationUntilResetMs?: number | undefined;
}

export interface RateLimitResponse {
  overallCode: ResponseCode;
  statuses: DescriptorStatus[];
  /** `response_headers_to_add`, as the response-headers setting asks (empty when off). */
  responseHeadersToAdd: HeaderValue[];
  /** For HTTP transports: every limit that applied, for RateLimit-Policy / RateLimit / Retry-After. */
  policies: AppliedPolicy[];
  /** Some decision was taken without the store (failure mode open or local). */
  degraded: boolean;
}

/** The largest uint32: the reference service's limit_remaining of an unlimited descriptor. */
export const MAX_UINT32 = 4_294_967_295;

/** Bounds on one request, so its work is bounded whatever it asks. */
export const MAX_DESCRIPTORS = 100;
export const MAX_ENTRIES = 32;
export const MAX_ENTRY_BYTES = 4096;
export const MAX_DOMAIN_BYTES = 256;
