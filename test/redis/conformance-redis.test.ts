import { RedisStore } from '../../src/index.js';
import { describeConformance } from '../conformance/suite.js';
import { workerRedis } from '../support/worker-redis.js';

const redis = workerRedis();

describeConformance('RedisStore (single node)', {
  create: (clock) => new RedisStore({ url: redis.url, timeoutMs: 2000, ...(clock ? { clock } : {}) }),
  reset: () => redis.flush(),
});
