import { RedisStore } from '../../src/index.js';
import { RedisServer } from '../../support/redis-server.js';
import { describeConformance } from '../conformance/suite.js';

let server: RedisServer | undefined;

describeConformance('RedisStore (single node)', {
  async create(clock) {
    server ??= await RedisServer.start();
    return new RedisStore({ url: server.url, timeoutMs: 2000, ...(clock ? { clock } : {}) });
  },
  async teardown() {
    await server?.stop();
  },
});
