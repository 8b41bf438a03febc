import { afterAll, beforeAll, inject } from 'vitest';
import { AdminConnections } from '../../support/admin.js';

/** This worker's redis-server (the redis tier's globalSetup started it), and how to empty it. */
export interface WorkerRedis {
  readonly port: number;
  readonly url: string;
  /** One command on it, over a connection kept for the file. */
  command(...args: (string | number)[]): Promise<unknown>;
  /** FLUSHALL: nothing a previous test wrote is left. */
  flush(): Promise<void>;
}

/**
 * The redis-server of the worker running this file, emptied before the file's first test. Call it
 * once, at the top of the file. The server is shared by the files this worker runs, one after
 * another: a file may write and flush it, but leaves its configuration as it found it (a test that
 * pauses, kills, restarts or reconfigures Redis starts a RedisServer of its own).
 */
export function workerRedis(): WorkerRedis {
  const ports = inject('redisPorts');
  const worker = Number(process.env.VITEST_POOL_ID ?? '1');
  const port = ports[worker - 1];
  if (port === undefined) {
    throw new Error(
      `no redis-server for worker ${worker} (${ports.length} started): is this file in test/redis/?`,
    );
  }
  const admin = new AdminConnections();
  beforeAll(async () => {
    await admin.command(port, 'FLUSHALL');
  });
  afterAll(() => {
    admin.close();
  });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    command: (...args) => admin.command(port, ...args),
    async flush() {
      await admin.command(port, 'FLUSHALL');
    },
  };
}
