import { RedisStore } from '../../src/index.js';
import { RedisSentinelHarness } from '../support/redis-sentinel.js';
import { describeConformance } from './suite.js';

let sentinel: RedisSentinelHarness | undefined;

describeConformance('RedisStore (Sentinel: master, replica, sentinel)', {
  async create(clock) {
    sentinel ??= await RedisSentinelHarness.start();
    return new RedisStore({ url: sentinel.url, timeoutMs: 2000, ...(clock ? { clock } : {}) });
  },
  async teardown() {
    await sentinel?.stop();
  },
});
