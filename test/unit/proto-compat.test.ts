import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';

/**
 * Wire compatibility with Envoy: every message, field and enum value of our trimmed `.proto`
 * files exists in Envoy's published ones (test/fixtures/envoy-published) with the same package,
 * name, number, type and label. Parsed as text, so their imports (validate, udpa) are not needed.
 */
const OURS = new URL('../../proto/envoy/', import.meta.url);
const PUBLISHED = new URL('../fixtures/envoy-published/', import.meta.url);

const FILES = [
  ['service/ratelimit/v3/rls.proto', 'rls.proto'],
  ['extensions/common/ratelimit/v3/ratelimit.proto', 'ratelimit.proto'],
  ['config/core/v3/base.proto', 'base.proto'],
  ['type/v3/ratelimit_unit.proto', 'ratelimit_unit.proto'],
  ['service/rate_limit_quota/v3/rlqs.proto', 'rlqs.proto'],
  ['type/v3/token_bucket.proto', 'token_bucket.proto'],
  ['type/v3/ratelimit_strategy.proto', 'ratelimit_strategy.proto'],
] as const;

function parse(url: URL): { pkg: string; root: protobuf.Root } {
  const parsed = protobuf.parse(readFileSync(url, 'utf8'), { keepCase: true, alternateCommentMode: true });
  return { pkg: parsed.package ?? '', root: parsed.root };
}

/** Every type and service defined under a namespace, by full name. */
function definitions(namespace: protobuf.NamespaceBase, into = new Map<string, protobuf.ReflectionObject>()) {
  for (const nested of namespace.nestedArray) {
    if (
      nested instanceof protobuf.Type ||
      nested instanceof protobuf.Enum ||
      nested instanceof protobuf.Service
    ) {
      into.set(nested.fullName, nested);
    }
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) definitions(nested, into);
  }
  return into;
}

/** A type reference as written, without the package path it may be qualified with. */
function typeName(type: string): string {
  return type.split('.').pop() ?? type;
}

describe('proto/ is wire-compatible with Envoy published protos', () => {
  it.each(FILES)('%s: same package, and every definition of ours is theirs', (ourPath, publishedFile) => {
    const ours = parse(new URL(ourPath, OURS));
    const published = parse(new URL(publishedFile, PUBLISHED));
    expect(ours.pkg).toBe(published.pkg);
    const theirs = definitions(published.root);
    const mine = definitions(ours.root);
    expect(mine.size).toBeGreaterThan(0);
    for (const [name, definition] of mine) {
      const other = theirs.get(name);
      expect(other, `${name} is not in the published file`).toBeDefined();
      if (definition instanceof protobuf.Type && other instanceof protobuf.Type) {
        for (const field of definition.fieldsArray) {
          const match = other.fields[field.name];
          expect(match, `${name}.${field.name}`).toBeDefined();
          expect([match?.id, typeName(match?.type ?? ''), match?.repeated], `${name}.${field.name}`).toEqual([
            field.id,
            typeName(field.type),
            field.repeated,
          ]);
        }
        for (const oneof of definition.oneofsArray) {
          expect(other.oneofs[oneof.name]?.oneof, `${name}.${oneof.name}`).toEqual(oneof.oneof);
        }
      }
      if (definition instanceof protobuf.Enum && other instanceof protobuf.Enum) {
        expect(definition.values, name).toEqual(
          Object.fromEntries(Object.keys(definition.values).map((key) => [key, other.values[key]])),
        );
      }
      if (definition instanceof protobuf.Service && other instanceof protobuf.Service) {
        for (const method of definition.methodsArray) {
          const match = other.methods[method.name];
          expect([typeName(match?.requestType ?? ''), typeName(match?.responseType ?? '')]).toEqual([
            typeName(method.requestType),
            typeName(method.responseType),
          ]);
        }
      }
    }
  });

  const KEPT_WHOLE = [
    [
      'service/ratelimit/v3/rls.proto',
      'rls.proto',
      [
        'envoy.service.ratelimit.v3.RateLimitRequest',
        'envoy.service.ratelimit.v3.RateLimitResponse',
        'envoy.service.ratelimit.v3.RateLimitResponse.DescriptorStatus',
        'envoy.service.ratelimit.v3.RateLimitResponse.RateLimit',
      ],
    ],
    [
      'service/rate_limit_quota/v3/rlqs.proto',
      'rlqs.proto',
      [
        'envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports',
        'envoy.service.rate_limit_quota.v3.RateLimitQuotaUsageReports.BucketQuotaUsage',
        'envoy.service.rate_limit_quota.v3.RateLimitQuotaResponse',
        'envoy.service.rate_limit_quota.v3.RateLimitQuotaResponse.BucketAction',
        'envoy.service.rate_limit_quota.v3.RateLimitQuotaResponse.BucketAction.QuotaAssignmentAction',
        'envoy.service.rate_limit_quota.v3.BucketId',
      ],
    ],
    ['type/v3/token_bucket.proto', 'token_bucket.proto', ['envoy.type.v3.TokenBucket']],
    [
      'type/v3/ratelimit_strategy.proto',
      'ratelimit_strategy.proto',
      ['envoy.type.v3.RateLimitStrategy', 'envoy.type.v3.RateLimitStrategy.RequestsPerTimeUnit'],
    ],
  ] as const;

  it.each(KEPT_WHOLE)(
    '%s keeps every field of the messages the service reads and writes',
    (ourPath, publishedFile, names) => {
      const ours = definitions(parse(new URL(ourPath, OURS)).root);
      const theirs = definitions(parse(new URL(publishedFile, PUBLISHED)).root);
      for (const name of names) {
        const mine = ours.get(`.${name}`) as protobuf.Type;
        const other = theirs.get(`.${name}`) as protobuf.Type;
        expect(Object.keys(mine.fields).sort(), name).toEqual(Object.keys(other.fields).sort());
      }
    },
  );
});
