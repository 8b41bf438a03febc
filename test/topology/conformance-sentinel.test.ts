import { RedisStore } from '../../src/index.js';
import { RedisSentinelHarness } from '../../support/redis-sentinel.js';
import { describeConformance } from '../conformance/suite.js';

// Started once for the file; a failed start fails every test at once instead of being retried.
let starting: Promise<RedisSentinelHarness> | undefined;
const sentinel = () =>
  // Distinct passwords for the data nodes and the sentinel: each must reach its own side.
  (starting ??= RedisSentinelHarness.start({ password: 'data@secret', sentinelPassword: 'sentinel&secret' }));

describeConformance('RedisStore (Sentinel: master, replica, sentinel; passwords)', {
  async create(clock) {
    return new RedisStore({ url: (await sentinel()).url, timeoutMs: 2000, ...(clock ? { clock } : {}) });
  },
  reset: async () => (await sentinel()).flushAll(),
  async teardown() {
    await (await starting?.catch(() => undefined))?.stop();
  },
});
