import { RedisConnection } from '../../src/stores/redis/connection.js';
import { RedisQuotaStore } from '../../src/stores/redis/redis-quota-store.js';
import { describeQuotaConformance } from '../conformance/quotas.js';
import { workerRedis } from '../support/worker-redis.js';

const redis = workerRedis();
const connections = new WeakMap<object, RedisConnection>();

describeQuotaConformance('RedisQuotaStore', {
  create: (clock) => {
    const connection = new RedisConnection({ url: redis.url, timeoutMs: 2000 });
    const store = new RedisQuotaStore(connection, 'ratelimit:', clock);
    connections.set(store, connection);
    return store;
  },
  close: async (store) => {
    await connections.get(store)?.close();
  },
  reset: () => redis.flush(),
});
