import { RedisStore } from '../../src/index.js';
import { RedisClusterHarness } from '../support/redis-cluster.js';
import { describeConformance } from './suite.js';

let cluster: RedisClusterHarness | undefined;

describeConformance('RedisStore (3-master cluster)', {
  async create(clock) {
    cluster ??= await RedisClusterHarness.start();
    return new RedisStore({ url: cluster.url, timeoutMs: 2000, ...(clock ? { clock } : {}) });
  },
  async teardown() {
    await cluster?.stop();
  },
});
