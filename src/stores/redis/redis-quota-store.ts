import { readFileSync } from 'node:fs';
import { BURST_FRACTION, hysteresisBand } from '../../core/quota-allocator.js';
import type { Clock } from '../../core/clock.js';
import { PACKAGE_VERSION } from '../../config/version.js';
import { decodeHolding } from '../quota-store.js';
import type { QuotaGrant, QuotaHolding, QuotaReport, QuotaStore } from '../quota-store.js';
import type { RedisConnection } from './connection.js';
import { hashTagOf } from './keys.js';
import { LuaScript } from './scripts.js';

/** lua/quota-report.lua, with the shebang and version line every entry script carries. */
const QUOTA_REPORT = new LuaScript(
  'quota-report',
  [
    '#!lua',
    `-- ratelimiter-service ${PACKAGE_VERSION}: quota-report`,
    readFileSync(new URL('../../../lua/quota-report.lua', import.meta.url), 'utf8'),
  ].join('\n'),
);

/**
 * RLQS quota state on Redis (or a Cluster), shared by every node: one hash per bucket,
 * `<prefix>{<bucket>}:rlqs`, field = stream, decided by one script per report on Redis's clock,
 * expiring 1 s after its last holding does. `<prefix>rlqs:buckets` indexes the buckets for
 * listings (a sorted set by expiry, written beside the script: on a Cluster it is another slot).
 */
export class RedisQuotaStore implements QuotaStore {
  private readonly indexKey: string;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keyPrefix: string,
    /** A test's clock; without one the script reads Redis TIME. */
    private readonly clock?: Clock,
  ) {
    this.indexKey = `${keyPrefix}rlqs:buckets`;
  }

  private bucketKey(quotaKey: string): string {
    return `${this.keyPrefix}{${hashTagOf(quotaKey)}}:rlqs`;
  }

  private nowArg(): string {
    return this.clock ? String(Math.floor(this.clock.nowUs() / 1000)) : '';
  }

  private async call(report: QuotaReport): Promise<number[]> {
    const { shape } = report;
    const argv = [
      report.stream,
      report.want,
      report.demandPerSecond === undefined ? '' : String(Math.round(report.demandPerSecond * 1000) / 1000),
      shape.capacity,
      shape.budget,
      shape.boundWindowFills,
      shape.assignable,
      hysteresisBand(shape),
      BURST_FRACTION,
      report.holdMs,
      this.nowArg(),
      report.liveGrant ?? '',
    ];
    const client = this.connection.client;
    return (await this.connection.run(() =>
      QUOTA_REPORT.run(client, { keyCount: 1, argv: [this.bucketKey(report.quotaKey), ...argv] }),
    )) as number[];
  }

  async report(report: QuotaReport): Promise<QuotaGrant> {
    const [tokens = 0, burst = 0, streams = 0, heldTokens = 0, expiresAt = 0] = await this.call(report);
    const client = this.connection.client;
    await this.connection.run(() =>
      Promise.all([
        client.zadd(this.indexKey, 'GT', expiresAt, report.quotaKey),
        client.pexpire(this.indexKey, report.holdMs + 1000, 'GT'),
      ]),
    );
    return { tokens, burst, streams, heldTokens };
  }

  async release(quotaKey: string, stream: string): Promise<void> {
    const client = this.connection.client;
    await this.connection.run(() => client.hdel(this.bucketKey(quotaKey), stream));
  }

  async holdings(limit: number): Promise<Map<string, QuotaHolding[]>> {
    const client = this.connection.client;
    const nowMs = await this.redisNowMs();
    const quotaKeys = await this.connection.run(async () => {
      await client.zremrangebyscore(this.indexKey, '-inf', nowMs);
      return client.zrange(this.indexKey, 0, limit - 1);
    });
    const hashes = await this.connection.run(() =>
      Promise.all(quotaKeys.map((quotaKey) => client.hgetall(this.bucketKey(quotaKey)))),
    );
    const listing = new Map<string, QuotaHolding[]>();
    quotaKeys.forEach((quotaKey, index) => {
      const holdings = Object.entries(hashes[index] ?? {})
        .map(([stream, value]) => decodeHolding(stream, value, nowMs))
        .filter((holding): holding is QuotaHolding => holding !== undefined);
      if (holdings.length > 0) listing.set(quotaKey, holdings);
    });
    return listing;
  }

  private async redisNowMs(): Promise<number> {
    if (this.clock) return Math.floor(this.clock.nowUs() / 1000);
    const client = this.connection.client;
    const [seconds, micros] = await this.connection.run(() => client.time());
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }
}
