import { RedisStore } from '../../src/index.js';
import { RedisClusterHarness } from '../../support/redis-cluster.js';
import { describeConformance } from '../conformance/suite.js';

// Started once for the file; a failed start fails every test at once instead of being retried.
let starting: Promise<RedisClusterHarness> | undefined;

describeConformance('RedisStore (3-master cluster, password)', {
  async create(clock) {
    // With a password, so the URL's credentials are shown to reach every node the client discovers.
    const cluster = await (starting ??= RedisClusterHarness.start({ password: 'cluster secret' }));
    return new RedisStore({ url: cluster.url, timeoutMs: 2000, ...(clock ? { clock } : {}) });
  },
  async teardown() {
    await (await starting?.catch(() => undefined))?.stop();
  },
});
