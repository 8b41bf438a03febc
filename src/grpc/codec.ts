import { RESPONSE_UNITS, overrideUnit } from '../envoy/units.js';
import type {
  DescriptorStatus,
  RateLimitDescriptor,
  RateLimitRequest,
  RateLimitResponse,
} from '../envoy/types.js';

/*
 * RateLimitRequest / RateLimitResponse as @grpc/proto-loader gives and takes them (see
 * LOADER_OPTIONS: snake_case, enum names, 64-bit integers as text, absent fields absent), and
 * their translation to the service's plain values. Protobuf goes no further than this file.
 */

export interface WireRequest {
  domain?: string;
  descriptors?: WireDescriptor[];
  hits_addend?: number;
}

interface WireDescriptor {
  entries?: { key?: string; value?: string }[];
  limit?: { requests_per_unit?: number; unit?: string | number };
  hits_addend?: { value?: string | number } | null;
}

interface WireDuration {
  seconds: string;
  nanos: number;
}

export interface WireStatus {
  code: string;
  current_limit?: { name?: string; requests_per_unit: number; unit: string };
  limit_remaining: number;
  duration_until_reset?: WireDuration;
}

export interface WireResponse {
  overall_code: string;
  statuses: WireStatus[];
  response_headers_to_add: { key: string; value: string }[];
}

/** A uint64 as text: past 2^53 it is clamped (no limit is that large, so it is over any limit anyway). */
function uint64(value: string | number | undefined): number {
  const number = Number(value ?? 0);
  return Number.isFinite(number) ? Math.min(number, Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER;
}

function descriptorFromWire(wire: WireDescriptor, index: number): RateLimitDescriptor {
  const limit = wire.limit
    ? {
        requestsPerUnit: wire.limit.requests_per_unit ?? 0,
        unit: overrideUnit(wire.limit.unit, `descriptors[${index}].limit.unit`),
      }
    : undefined;
  const hitsAddend = wire.hits_addend ? uint64(wire.hits_addend.value) : undefined;
  const entries = (wire.entries ?? []).map((entry) => ({ key: entry.key ?? '', value: entry.value ?? '' }));
  return { entries, limit, hitsAddend };
}

export function requestFromWire(wire: WireRequest): RateLimitRequest {
  return {
    domain: wire.domain ?? '',
    descriptors: (wire.descriptors ?? []).map(descriptorFromWire),
    hitsAddend: wire.hits_addend ?? 0,
  };
}

function duration(ms: number): WireDuration {
  const whole = Math.max(0, Math.round(ms));
  return { seconds: String(Math.floor(whole / 1000)), nanos: (whole % 1000) * 1_000_000 };
}

function statusToWire(status: DescriptorStatus): WireStatus {
  const wire: WireStatus = { code: status.code, limit_remaining: status.limitRemaining };
  if (status.currentLimit) {
    wire.current_limit = {
      ...(status.currentLimit.name === undefined ? {} : { name: status.currentLimit.name }),
      requests_per_unit: status.currentLimit.requestsPerUnit,
      unit: RESPONSE_UNITS[status.currentLimit.unit],
    };
  }
  if (status.durationUntilResetMs !== undefined)
    wire.duration_until_reset = duration(status.durationUntilResetMs);
  return wire;
}

export function responseToWire(response: RateLimitResponse): WireResponse {
  return {
    overall_code: response.overallCode,
    statuses: response.statuses.map(statusToWire),
    response_headers_to_add: response.responseHeadersToAdd.map(({ key, value }) => ({ key, value })),
  };
}
