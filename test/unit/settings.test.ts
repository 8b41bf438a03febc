import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultGrpcMaxConnections, defaultMaxConnections } from '../../src/config/connection-limit.js';
import { SETTINGS, SettingError, resolveSettings } from '../../src/config/settings.js';
import type { RawSetting, SettingSpec } from '../../src/config/settings.js';

/** Raw settings as the CLI hands them over: by env var name, with where each came from. */
function from(values: Record<string, RawSetting>) {
  return (spec: SettingSpec): RawSetting => values[spec.env] ?? { text: undefined, from: 'default' };
}

describe('resolveSettings', () => {
  it('has a default for everything that needs one', () => {
    const settings = resolveSettings(from({}));
    expect(settings).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      redisUrl: undefined,
      failureMode: 'open',
      adminToken: undefined,
      apiToken: undefined,
      keyPrefix: 'ratelimit:',
      logLevel: 'info',
      heartbeatMs: 5000,
      storeTimeoutMs: 50,
      shutdownTimeoutMs: 10_000,
      advertiseAddress: undefined,
      requestTimeoutMs: 10_000,
      headersTimeoutMs: 5_000,
      keepAliveTimeoutMs: 72_000,
      grpcMaxStreams: 100,
      grpcIdleTimeoutMs: 300_000,
      grpcKeepaliveMs: 5_000,
      grpcSessionMemoryMb: 10,
    });
    expect(settings.nodeId).toMatch(/-\d+$/);
    expect(settings.maxConnections).toBeGreaterThanOrEqual(16);
  });

  it('keeps descriptors for Redis and logs below the open-file limit', () => {
    const limits = (soft: string) =>
      `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 4096                 files\n`;
    // HTTP and gRPC share the budget (7/8 and 1/8), so both full still leave the reserve.
    expect(defaultMaxConnections(limits('1024'))).toBe(784);
    expect(defaultGrpcMaxConnections(limits('1024'))).toBe(112);
    expect(defaultMaxConnections(limits('100'))).toBe(16);
    expect(defaultGrpcMaxConnections(limits('100'))).toBe(16);
    expect(defaultMaxConnections(limits('1048576'))).toBe(8_750);
    expect(defaultGrpcMaxConnections(limits('1048576'))).toBe(1_250);
    expect(defaultMaxConnections(undefined)).toBe(8_750);
  });

  it('refuses a headers timeout past the request timeout, and a wildcard advertise address', () => {
    expect(() =>
      resolveSettings(
        from({
          RATELIMITER_REQUEST_TIMEOUT_MS: { text: '1000', from: 'env' },
          RATELIMITER_HEADERS_TIMEOUT_MS: { text: '2000', from: 'flag' },
        }),
      ),
    ).toThrow(/^invalid setting --headers-timeout-ms: must be at most the request timeout/);
    expect(() =>
      resolveSettings(from({ RATELIMITER_ADVERTISE_ADDRESS: { text: '0.0.0.0', from: 'env' } })),
    ).toThrow(/^invalid setting RATELIMITER_ADVERTISE_ADDRESS: .*wildcard/);
    expect(() =>
      resolveSettings(from({ RATELIMITER_ADVERTISE_ADDRESS: { text: 'http://x:80', from: 'env' } })),
    ).toThrow(/no scheme, no port/);
    const advertised = resolveSettings(
      from({ RATELIMITER_ADVERTISE_ADDRESS: { text: 'node-a.internal', from: 'env' } }),
    );
    expect(advertised.advertiseAddress).toBe('node-a.internal');
  });

  it('accepts every Redis URL form the store does', () => {
    for (const url of [
      'redis://h:1',
      'rediss://h:1/2',
      'redis+cluster://h1:1,h2:2',
      'redis+sentinel://h1:1/main',
    ]) {
      expect(resolveSettings(from({ REDIS_URL: { text: url, from: 'env' } })).redisUrl).toBe(url);
    }
  });

  it('treats an empty value as unset', () => {
    const settings = resolveSettings(from({ REDIS_URL: { text: '', from: 'env' } }));
    expect(settings.redisUrl).toBeUndefined();
  });

  it('names the setting as the operator gave it: the env var or the flag', () => {
    expect(() => resolveSettings(from({ RATELIMITER_PORT: { text: 'x', from: 'env' } }))).toThrow(
      /^invalid setting RATELIMITER_PORT: /,
    );
    expect(() => resolveSettings(from({ RATELIMITER_PORT: { text: '-1', from: 'flag' } }))).toThrow(
      /^invalid setting --port: /,
    );
    expect(() => resolveSettings(from({ REDIS_URL: { text: 'localhost:6379', from: 'env' } }))).toThrow(
      SettingError,
    );
  });

  it('declares every setting as an env var and a flag, each once', () => {
    const envs = SETTINGS.map((spec) => spec.env);
    const flags = SETTINGS.map((spec) => spec.flag.split(' ')[0]);
    expect(new Set(envs).size).toBe(SETTINGS.length);
    expect(new Set(flags).size).toBe(SETTINGS.length);
    expect(flags.every((flag) => flag?.startsWith('--'))).toBe(true);
  });

  it('is documented in docs/configuration.md, every env var and flag', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const spec of SETTINGS) {
      expect(doc).toContain(`\`${spec.env}\``);
      expect(doc).toContain(`\`${spec.flag}\``);
    }
  });
});
