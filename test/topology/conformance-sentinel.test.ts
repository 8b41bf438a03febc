import { RedisStore } from '../../src/index.js';
import { RedisSentinelHarness } from '../../support/redis-sentinel.js';
import { describeConformance } from '../conformance/suite.js';

// Started once for the file; a failed start fails every test at once instead of being retried.
let starting: Promise<RedisSentinelHarness> | undefined;

describeConformance('RedisStore (Sentinel: master, replica, sentinel; passwords)', {
  async create(clock) {
    // Distinct passwords for the data nodes and the sentinel: each must reach its own side.
    const sentinel = await (starting ??= RedisSentinelHarness.start({
      password: 'data@secret',
      sentinelPassword: 'sentinel&secret',
    }));
    return new RedisStore({ url: sentinel.url, timeoutMs: 2000, ...(clock ? { clock } : {}) });
  },
  async teardown() {
    await (await starting?.catch(() => undefined))?.stop();
  },
});
