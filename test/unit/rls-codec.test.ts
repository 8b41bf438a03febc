import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.js';
import type { RateLimitResponse } from '../../src/envoy/types.js';
import { decodeRateLimitRequest, encodeRateLimitResponse } from '../../src/grpc/rls-codec.js';
import { RULE_UNITS } from '../../src/rules/types.js';

/*
 * The static codec against protobuf.js reading the repo's .proto files by reflection (what
 * @grpc/proto-loader and so Envoy-compatible clients use): requests protobuf.js writes decode to
 * what they say, and responses we write read back to what we meant, for arbitrary messages.
 */
const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));
const root = new protobuf.Root();
root.resolvePath = (_origin, target) =>
  target.startsWith('google/') ? target : `${PROTO_DIR}${target.replace(/^.*proto\//, '')}`;
root.loadSync('envoy/service/ratelimit/v3/rls.proto', { keepCase: true });
const Request = root.lookupType('envoy.service.ratelimit.v3.RateLimitRequest');
const Response = root.lookupType('envoy.service.ratelimit.v3.RateLimitResponse');

const REQUEST_UNITS = ['SECOND', 'MINUTE', 'HOUR', 'DAY', 'MONTH', 'YEAR'] as const;
const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const uint32 = fc.integer({ min: 0, max: 4_294_967_295 });

const wireDescriptor = fc.record(
  {
    entries: fc.array(fc.record({ key: text, value: text }), { maxLength: 3 }),
    limit: fc.record({ requests_per_unit: uint32, unit: fc.constantFrom(...REQUEST_UNITS) }),
    hits_addend: fc.record({ value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
  },
  { requiredKeys: ['entries'] },
);
const wireRequest = fc.record({
  domain: text,
  descriptors: fc.array(wireDescriptor, { maxLength: 3 }),
  hits_addend: uint32,
});

type WireDescriptor = {
  entries: { key: string; value: string }[];
  limit?: { requests_per_unit: number; unit: string };
  hits_addend?: { value: bigint };
};

function encodeWithReflection(request: {
  domain: string;
  descriptors: WireDescriptor[];
  hits_addend: number;
}): Uint8Array {
  const message = {
    ...request,
    descriptors: request.descriptors.map((descriptor) => ({
      ...descriptor,
      ...(descriptor.limit
        ? { limit: { ...descriptor.limit, unit: REQUEST_UNITS.indexOf(descriptor.limit.unit as never) + 1 } }
        : {}),
      ...(descriptor.hits_addend ? { hits_addend: { value: descriptor.hits_addend.value.toString() } } : {}),
    })),
  };
  return Request.encode(Request.fromObject(message)).finish();
}

const responseArbitrary: fc.Arbitrary<RateLimitResponse> = fc.record({
  overallCode: fc.constantFrom('OK', 'OVER_LIMIT'),
  statuses: fc.array(
    fc.record(
      {
        code: fc.constantFrom('OK', 'OVER_LIMIT'),
        currentLimit: fc.record(
          { name: text, requestsPerUnit: uint32, unit: fc.constantFrom(...RULE_UNITS) },
          { requiredKeys: ['requestsPerUnit', 'unit'] },
        ),
        limitRemaining: uint32,
        durationUntilResetMs: fc.integer({ min: 0, max: 366 * 86_400_000 }),
      },
      { requiredKeys: ['code', 'limitRemaining'] },
    ),
    { maxLength: 4 },
  ),
  responseHeadersToAdd: fc.array(fc.record({ key: text, value: text }), { maxLength: 3 }),
  policies: fc.constant([]),
  degraded: fc.boolean(),
});

describe('the static RateLimitService codec, against protobuf.js reflection', () => {
  it('decodes every request protobuf.js writes to what it says', () => {
    fc.assert(
      fc.property(wireRequest, (request) => {
        const decoded = decodeRateLimitRequest(encodeWithReflection(request));
        expect(decoded).toEqual({
          domain: request.domain,
          hitsAddend: request.hits_addend,
          descriptors: request.descriptors.map((descriptor) => ({
            entries: descriptor.entries,
            limit: descriptor.limit
              ? {
                  requestsPerUnit: descriptor.limit.requests_per_unit,
                  unit: descriptor.limit.unit.toLowerCase(),
                }
              : undefined,
            // Past 2^53 a uint64 is clamped: it is over any limit anyway.
            hitsAddend: descriptor.hits_addend
              ? Number(
                  descriptor.hits_addend.value > BigInt(Number.MAX_SAFE_INTEGER)
                    ? BigInt(Number.MAX_SAFE_INTEGER)
                    : descriptor.hits_addend.value,
                )
              : undefined,
          })),
        });
      }),
    );
  });

  it('writes responses protobuf.js reads back as meant, presence of messages kept', () => {
    fc.assert(
      fc.property(responseArbitrary, (response) => {
        const read = Response.toObject(Response.decode(encodeRateLimitResponse(response)), {
          enums: String,
          longs: Number,
          defaults: true,
        });
        expect(read.overall_code).toBe(response.overallCode);
        expect(read.response_headers_to_add).toEqual(
          response.responseHeadersToAdd.map(({ key, value }) => ({ key, value, raw_value: Buffer.alloc(0) })),
        );
        expect(read.statuses).toHaveLength(response.statuses.length);
        response.statuses.forEach((status, index) => {
          const wire = (read.statuses as Record<string, unknown>[])[index];
          expect(wire?.code).toBe(status.code);
          expect(wire?.limit_remaining).toBe(status.limitRemaining);
          expect(wire?.current_limit).toEqual(
            status.currentLimit
              ? {
                  name: status.currentLimit.name ?? '',
                  requests_per_unit: status.currentLimit.requestsPerUnit,
                  unit: status.currentLimit.unit.toUpperCase(),
                }
              : null,
          );
          const ms = status.durationUntilResetMs;
          expect(wire?.duration_until_reset).toEqual(
            ms === undefined ? null : { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 },
          );
        });
      }),
    );
  });

  it('refuses a string field that is not UTF-8, naming it', () => {
    const bytes = encodeWithReflection({
      domain: 'd',
      hits_addend: 0,
      descriptors: [{ entries: [{ key: 'k', value: 'vé' }] }],
    });
    // "vé" is 76 c3 a9: make the continuation byte invalid.
    const at = Buffer.from(bytes).indexOf(Buffer.from([0xc3, 0xa9]));
    const broken = Buffer.from(bytes);
    broken[at] = 0xe9;
    broken[at + 1] = 0x20;
    expect(() => decodeRateLimitRequest(broken)).toThrow(InvalidArgumentError);
    expect(() => decodeRateLimitRequest(broken)).toThrow(
      'descriptors[0].entries[0].value must be valid UTF-8',
    );
  });

  it('skips fields it does not know and refuses a message cut short', () => {
    const known = encodeWithReflection({ domain: 'd', hits_addend: 2, descriptors: [] });
    // Field 15, a varint: a later version of the message may add fields.
    const withUnknown = Buffer.concat([Buffer.from([(15 << 3) | 0, 0x05]), known]);
    expect(decodeRateLimitRequest(withUnknown)).toEqual({ domain: 'd', descriptors: [], hitsAddend: 2 });
    expect(() => decodeRateLimitRequest(Buffer.from([0x0a, 0x10, 0x61]))).toThrow(RangeError);
  });
});
