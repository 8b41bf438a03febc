import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { ServiceStore } from '../../src/stores/remote/service-store.js';
import { parseCheck } from '../../src/core/validate.js';
import { ServiceProcess } from '../../support/service-process.js';

/**
 * A peer that accepts TCP and never answers (a black hole, a hung host, TLS spoken to a plain
 * port): every call, and /readyz, is bounded by the store timeout while a connection is being
 * made, for as long as the peer stays like that (issue 18.3). Before: about 1 s each (the connect
 * timeout), for ever, since the connection stayed "connecting" after TCP accepted it.
 */
const STORE_TIMEOUT_MS = 50;
/** What a call may take beyond its budget on a shared 2-core machine: ticks, scheduling, I/O. */
const SLACK_MS = 200;

class BlackHole {
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<BlackHole> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new BlackHole(server);
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}

async function timed(call: () => Promise<unknown>): Promise<{ ms: number; result: unknown }> {
  const start = performance.now();
  const result = await call().catch((error: unknown) => error);
  return { ms: performance.now() - start, result };
}

const check = parseCheck({ key: 'black-hole', limit: 5, window: 10 });

describe('a peer that accepts TCP and never answers', () => {
  let hole: BlackHole;

  beforeAll(async () => {
    hole = await BlackHole.start();
  });

  afterAll(async () => {
    await hole.close();
  });

  it('RedisStore: every call fails within the store timeout, from the first and past the connect timeout', async () => {
    const store = new RedisStore({ url: `redis://127.0.0.1:${hole.port}`, timeoutMs: STORE_TIMEOUT_MS });
    try {
      const times: number[] = [];
      const started = performance.now();
      // Spread over 1.5 s: before, during and after the first connection attempt's 1 s.
      while (performance.now() - started < 1500) {
        const { ms, result } = await timed(() => store.check(check));
        expect(result).toBeInstanceOf(StoreUnavailableError);
        times.push(ms);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      console.log(`RedisStore calls on a black hole (ms): ${times.map((ms) => Math.round(ms)).join(' ')}`);
      expect(Math.max(...times)).toBeLessThan(STORE_TIMEOUT_MS + SLACK_MS);
    } finally {
      await store.close();
    }
  });

  it('ServiceStore: every call fails within its timeout', async () => {
    const store = new ServiceStore({ url: `http://127.0.0.1:${hole.port}`, timeoutMs: 100 });
    try {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const { ms, result } = await timed(() => store.check(check));
        expect(result).toBeInstanceOf(StoreUnavailableError);
        times.push(ms);
      }
      console.log(`ServiceStore calls on a black hole (ms): ${times.map((ms) => Math.round(ms)).join(' ')}`);
      expect(Math.max(...times)).toBeLessThan(100 + SLACK_MS);
    } finally {
      await store.close();
    }
  });

  it('the service: /readyz and closed-mode checks answer 503 within the store timeout, again and again', async () => {
    const service = await ServiceProcess.start([
      '--redis',
      `redis://127.0.0.1:${hole.port}`,
      '--failure-mode',
      'closed',
    ]);
    try {
      // The process's first answers compile their routes: not what is measured.
      await service.fetch('/healthz');
      await service.postJson('/v1/check', { key: 'warm-up', limit: 5, window: 10 });
      const readyz: number[] = [];
      const checks: number[] = [];
      for (let i = 0; i < 6; i++) {
        const ready = await timed(() => service.fetch('/readyz'));
        expect((ready.result as Response).status).toBe(503);
        readyz.push(ready.ms);
        const decided = await timed(() => service.postJson('/v1/check', { key: 'k', limit: 5, window: 10 }));
        expect((decided.result as Response).status).toBe(503);
        checks.push(decided.ms);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      console.log(
        `service on a black hole (ms): readyz ${readyz.map(Math.round).join(' ')}; check ${checks.map(Math.round).join(' ')}`,
      );
      expect(Math.max(...readyz)).toBeLessThan(STORE_TIMEOUT_MS + SLACK_MS);
      expect(Math.max(...checks)).toBeLessThan(STORE_TIMEOUT_MS + SLACK_MS);
    } finally {
      await service.stop('SIGKILL');
    }
  });
});
