import { RedisStore } from '../../src/index.js';
import { RedisClusterHarness } from '../../support/redis-cluster.js';
import { describeConformance } from '../conformance/suite.js';

// Started once for the file; a failed start fails every test at once instead of being retried.
let starting: Promise<RedisClusterHarness> | undefined;
const cluster = () =>
  // With a password, so the URL's credentials are shown to reach every node the client discovers.
  (starting ??= RedisClusterHarness.start({ password: 'cluster secret' }));

describeConformance('RedisStore (3-master cluster, password)', {
  async create(clock) {
    return new RedisStore({ url: (await cluster()).url, timeoutMs: 2000, ...(clock ? { clock } : {}) });
  },
  reset: async () => (await cluster()).flushAll(),
  async teardown() {
    await (await starting?.catch(() => undefined))?.stop();
  },
});
