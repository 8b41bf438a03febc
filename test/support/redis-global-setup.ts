import { availableParallelism } from 'node:os';
import type { TestProject } from 'vitest/node';
import { RedisServer } from '../../support/redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The port of each worker's redis-server: worker N (VITEST_POOL_ID) owns index N - 1. */
    redisPorts: number[];
  }
}

/** As many workers as vitest may run at once (its own default when the config names none). */
function workerCount(project: TestProject): number {
  const configured = project.config.maxWorkers || project.vitest.config.maxWorkers;
  return typeof configured === 'number' && configured > 0
    ? configured
    : Math.max(availableParallelism() - 1, 1);
}

/**
 * The redis tier's servers: one redis-server per vitest worker, started once for the run. Files of
 * one worker run one after another, so a file has its worker's server to itself while it runs
 * (see test/support/worker-redis.ts).
 */
export default async function startWorkerRedisServers(project: TestProject): Promise<() => Promise<void>> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < workerCount(project); i++) servers.push(await RedisServer.start());
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
  project.provide(
    'redisPorts',
    servers.map((server) => server.port),
  );
  return async () => {
    await Promise.all(servers.map((server) => server.stop()));
  };
}
