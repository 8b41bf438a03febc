import { isUtf8 } from 'node:buffer';
import protobuf from 'protobufjs/minimal.js';
import { InvalidArgumentError } from '../core/errors.js';
import { RESPONSE_UNIT_NUMBERS, overrideUnit } from '../envoy/units.js';
import type {
  DescriptorStatus,
  RateLimitDescriptor,
  RateLimitRequest,
  RateLimitResponse,
} from '../envoy/types.js';
import type { DescriptorEntry } from '../rules/match.js';

/*
 * RateLimitRequest and RateLimitResponse (envoy.service.ratelimit.v3, proto/) read and written by
 * static code over protobuf.js's Reader and Writer, straight from and to the service's plain
 * values: no reflection, no intermediate objects, and every string field is checked to be UTF-8 on
 * its bytes (invalid bytes would decode to U+FFFD, so `k\xE9` and `k\xE8` would share a counter).
 * Field numbers are those of the .proto files (test/unit/rls-codec.test.ts checks both directions
 * against protobuf.js's own reading of them). Protobuf goes no further than this file.
 */

const { Reader, Writer } = protobuf;
type ProtoReader = protobuf.Reader;
type ProtoWriter = protobuf.Writer;

const VARINT = 0;
const LENGTH_DELIMITED = 2;

function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

/** A string field: its bytes must be UTF-8, else the request is refused naming the field. */
function text(reader: ProtoReader, field: () => string): string {
  const length = reader.uint32();
  const start = reader.pos;
  const end = start + length;
  if (end > reader.len) throw new RangeError('string runs past the end of the message');
  reader.pos = end;
  const bytes = reader.buf as Buffer;
  // Descriptor keys and values are mostly ASCII: then they are UTF-8 as they stand, and no view of
  // the bytes is made to ask Node.
  let ascii = true;
  for (let at = start; at < end; at++) {
    if ((bytes[at] as number) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return bytes.toString('latin1', start, end);
  if (!isUtf8(bytes.subarray(start, end))) {
    const name = field();
    throw new InvalidArgumentError(name, `${name} must be valid UTF-8 text`);
  }
  return bytes.toString('utf8', start, end);
}

/** The end of an embedded message that starts here. */
function messageEnd(reader: ProtoReader): number {
  const end = reader.uint32() + reader.pos;
  if (end > reader.len) throw new RangeError('embedded message runs past the end of the message');
  return end;
}

/** A uint64 as a number: past 2^53 it is clamped (no limit is that large, so it is over any anyway). */
function uint64(reader: ProtoReader): number {
  const value = reader.uint64() as unknown as number | { low: number; high: number };
  if (typeof value === 'number') return Math.min(value, Number.MAX_SAFE_INTEGER);
  const number = (value.high >>> 0) * 2 ** 32 + (value.low >>> 0);
  return Math.min(number, Number.MAX_SAFE_INTEGER);
}

function entryFrom(reader: ProtoReader, end: number, at: string): DescriptorEntry {
  let key = '';
  let value = '';
  while (reader.pos < end) {
    const wire = reader.uint32();
    if (wire === tag(1, LENGTH_DELIMITED)) key = text(reader, () => `${at}.key`);
    else if (wire === tag(2, LENGTH_DELIMITED)) value = text(reader, () => `${at}.value`);
    else reader.skipType(wire & 7);
  }
  return { key, value };
}

function descriptorFrom(reader: ProtoReader, end: number, index: number): RateLimitDescriptor {
  const entries: DescriptorEntry[] = [];
  let requestsPerUnit: number | undefined;
  let unit: number | undefined;
  let hasLimit = false;
  let hitsAddend: number | undefined;
  while (reader.pos < end) {
    const wire = reader.uint32();
    if (wire === tag(1, LENGTH_DELIMITED)) {
      const entryEnd = messageEnd(reader);
      entries.push(entryFrom(reader, entryEnd, `descriptors[${index}].entries[${entries.length}]`));
    } else if (wire === tag(2, LENGTH_DELIMITED)) {
      // RateLimitOverride: requests_per_unit = 1, unit = 2 (envoy.type.v3.RateLimitUnit).
      const limitEnd = messageEnd(reader);
      hasLimit = true;
      requestsPerUnit = undefined;
      unit = undefined;
      while (reader.pos < limitEnd) {
        const inner = reader.uint32();
        if (inner === tag(1, VARINT)) requestsPerUnit = reader.uint32();
        else if (inner === tag(2, VARINT)) unit = reader.int32();
        else reader.skipType(inner & 7);
      }
    } else if (wire === tag(3, LENGTH_DELIMITED)) {
      // google.protobuf.UInt64Value: value = 1. Present, even empty, it overrides the request's.
      const addendEnd = messageEnd(reader);
      hitsAddend = 0;
      while (reader.pos < addendEnd) {
        const inner = reader.uint32();
        if (inner === tag(1, VARINT)) hitsAddend = uint64(reader);
        else reader.skipType(inner & 7);
      }
    } else reader.skipType(wire & 7);
  }
  const limit = hasLimit
    ? {
        requestsPerUnit: requestsPerUnit ?? 0,
        unit: overrideUnit(unit, `descriptors[${index}].limit.unit`),
      }
    : undefined;
  return { entries, limit, hitsAddend };
}

/**
 * A RateLimitRequest's bytes as the service's request. Throws InvalidArgumentError for a string
 * that is not UTF-8 or an unknown unit (the field named), RangeError for bytes that are not a
 * message at all; validateRateLimitRequest then checks what the fields mean.
 */
export function decodeRateLimitRequest(bytes: Uint8Array): RateLimitRequest {
  const reader = Reader.create(bytes);
  let domain = '';
  const descriptors: RateLimitDescriptor[] = [];
  let hitsAddend = 0;
  while (reader.pos < reader.len) {
    const wire = reader.uint32();
    if (wire === tag(1, LENGTH_DELIMITED)) domain = text(reader, () => 'domain');
    else if (wire === tag(2, LENGTH_DELIMITED)) {
      const end = messageEnd(reader);
      descriptors.push(descriptorFrom(reader, end, descriptors.length));
    } else if (wire === tag(3, VARINT)) hitsAddend = reader.uint32();
    else reader.skipType(wire & 7);
  }
  return { domain, descriptors, hitsAddend };
}

const RESPONSE_CODES = { OK: 1, OVER_LIMIT: 2 } as const;

function writeStatus(writer: ProtoWriter, status: DescriptorStatus): void {
  writer.uint32(tag(2, LENGTH_DELIMITED)).fork();
  writer.uint32(tag(1, VARINT)).int32(RESPONSE_CODES[status.code]);
  const limit = status.currentLimit;
  if (limit) {
    // RateLimit: requests_per_unit = 1, unit = 2, name = 3. Present even when all its fields are 0.
    writer.uint32(tag(2, LENGTH_DELIMITED)).fork();
    if (limit.requestsPerUnit !== 0) writer.uint32(tag(1, VARINT)).uint32(limit.requestsPerUnit);
    writer.uint32(tag(2, VARINT)).int32(RESPONSE_UNIT_NUMBERS[limit.unit]);
    if (limit.name !== undefined && limit.name !== '')
      writer.uint32(tag(3, LENGTH_DELIMITED)).string(limit.name);
    writer.ldelim();
  }
  if (status.limitRemaining !== 0) writer.uint32(tag(3, VARINT)).uint32(status.limitRemaining);
  if (status.durationUntilResetMs !== undefined) {
    // google.protobuf.Duration: seconds = 1 (int64), nanos = 2 (int32).
    const whole = Math.max(0, Math.round(status.durationUntilResetMs));
    const seconds = Math.floor(whole / 1000);
    const nanos = (whole % 1000) * 1_000_000;
    writer.uint32(tag(4, LENGTH_DELIMITED)).fork();
    if (seconds !== 0) writer.uint32(tag(1, VARINT)).int64(seconds);
    if (nanos !== 0) writer.uint32(tag(2, VARINT)).int32(nanos);
    writer.ldelim();
  }
  writer.ldelim();
}

/** The service's response as RateLimitResponse bytes (overall_code = 1, statuses = 2, response_headers_to_add = 3). */
export function encodeRateLimitResponse(response: RateLimitResponse): Buffer {
  const writer = Writer.create();
  writer.uint32(tag(1, VARINT)).int32(RESPONSE_CODES[response.overallCode]);
  for (const status of response.statuses) writeStatus(writer, status);
  for (const header of response.responseHeadersToAdd) {
    // config.core.v3.HeaderValue: key = 1, value = 2.
    writer.uint32(tag(3, LENGTH_DELIMITED)).fork();
    if (header.key !== '') writer.uint32(tag(1, LENGTH_DELIMITED)).string(header.key);
    if (header.value !== '') writer.uint32(tag(2, LENGTH_DELIMITED)).string(header.value);
    writer.ldelim();
  }
  return writer.finish() as Buffer;
}
