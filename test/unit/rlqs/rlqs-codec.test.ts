import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../../src/core/errors.js';
import { decodeUsageReports } from '../../../src/grpc/rlqs-codec.js';

/** A length-delimited field of raw bytes, as protobuf writes it. */
function field(number: number, bytes: Uint8Array): Uint8Array {
  return protobuf.Writer.create()
    .uint32((number << 3) | 2)
    .bytes(bytes)
    .finish();
}

/** RateLimitQuotaUsageReports with one usage per bucket id, each id one (key, value) entry of raw bytes. */
function reports(domain: Uint8Array, ...ids: [Uint8Array, Uint8Array][]): Buffer {
  const usages = ids.map(([key, value]) =>
    field(2, field(1, field(1, Buffer.concat([field(1, key), field(2, value)])))),
  );
  return Buffer.concat([field(1, domain), ...usages]);
}

const text = (value: string) => Buffer.from(value, 'utf8');
// "é" is c3 a9; a lone c3 followed by a space is no UTF-8.
const broken = Buffer.from([0x76, 0xc3, 0x20]);

describe('the RLQS codec', () => {
  it('reads UTF-8 bucket ids, non-ASCII included', () => {
    expect(decodeUsageReports(reports(text('edge'), [text('tenant'), text('café')]))).toEqual({
      domain: 'edge',
      usages: [{ bucketId: new Map([['tenant', 'café']]), timeElapsedS: 0, allowed: 0, denied: 0 }],
    });
  });

  it.each([
    [
      'a bucket value',
      reports(text('edge'), [text('k'), text('a')], [text('k'), broken]),
      'bucket_quota_usages[1].bucket_id',
    ],
    ['a bucket key', reports(text('edge'), [broken, text('a')]), 'bucket_quota_usages[0].bucket_id'],
    ['the domain', reports(broken, [text('k'), text('a')]), 'domain'],
  ])('refuses %s that is not UTF-8, naming the field', (_what, bytes, name) => {
    expect(() => decodeUsageReports(bytes)).toThrow(InvalidArgumentError);
    expect(() => decodeUsageReports(bytes)).toThrow(`${name} must be valid UTF-8 text`);
  });
});
