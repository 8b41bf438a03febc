import { createServer, request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import { rateLimit as expressRateLimit } from '../../src/adapters/express/index.js';
import fastifyRateLimit from '../../src/adapters/fastify/index.js';
import { rateLimit as honoRateLimit } from '../../src/adapters/hono/index.js';
import type { MiddlewareOptions } from '../../src/adapters/shared/middleware.js';
import { closeServer, listenOn } from './adapter-http.js';

/**
 * The same app in Express, Fastify and Hono, on a real loopback port, for the concurrency tests:
 * `GET /work` runs `work(query)` in its handler (hold it, throw, count what is in flight), then
 * answers 200 "ok"; a throw is the framework's 500.
 */
export type Work = (query: URLSearchParams) => Promise<void>;

/** Options of any framework's middleware: the tests key by a function of nothing. */
export type AnyOptions = MiddlewareOptions<never>;

export interface Framework {
  name: 'express' | 'fastify' | 'hono';
  /** The app's base URL; closeAll() stops it. */
  start(options: AnyOptions, work: Work): Promise<string>;
}

const servers: Server[] = [];

function queryOf(url: string | undefined): URLSearchParams {
  return new URL(url ?? '/', 'http://localhost').searchParams;
}

export const FRAMEWORKS: readonly Framework[] = [
  {
    name: 'express',
    async start(options, work) {
      const app = express();
      // Express's final handler answers a throw with a 500, and logs it unless the env is 'test'.
      app.set('env', 'test');
      app.use(expressRateLimit(options as MiddlewareOptions<express.Request>));
      app.get('/work', async (req, res) => {
        await work(queryOf(req.url));
        res.send('ok');
      });
      const server = createServer(app);
      servers.push(server);
      return listenOn(server);
    },
  },
  {
    name: 'fastify',
    async start(options, work) {
      const app = Fastify();
      await app.register(fastifyRateLimit, options as never);
      app.get('/work', async (req) => {
        await work(queryOf(req.url));
        return 'ok';
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      servers.push(app.server);
      return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    },
  },
  {
    name: 'hono',
    async start(options, work) {
      const app = new Hono();
      app.onError((_error, c) => c.text('failed', 500));
      app.use(honoRateLimit(options as never));
      app.get('/work', async (c) => {
        await work(new URL(c.req.url).searchParams);
        return c.text('ok');
      });
      return new Promise((resolve) => {
        const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
          resolve(`http://127.0.0.1:${info.port}`);
        });
        servers.push(server as Server);
      });
    },
  },
];

export async function closeAll(): Promise<void> {
  await Promise.all(servers.splice(0).map(closeServer));
}

/** A request the test can cut off: `abort()` destroys its socket mid-request. */
export function cuttable(url: string): { status: Promise<number | 'aborted'>; abort(): void } {
  const outgoing = httpRequest(url, { agent: false });
  const status = new Promise<number | 'aborted'>((resolve) => {
    outgoing.on('response', (response) => {
      response.resume();
      response.on('end', () => {
        resolve(response.statusCode ?? 0);
      });
    });
    outgoing.on('error', () => {
      resolve('aborted');
    });
  });
  outgoing.end();
  return {
    status,
    abort() {
      outgoing.destroy();
    },
  };
}

/**
 * Handlers held until the test opens the gate, counting how many are inside at once: what the
 * app itself sees in flight, whatever the middleware claims.
 */
export class Gate {
  inFlight = 0;
  maxInFlight = 0;
  entered = 0;
  private open!: () => void;
  private opened = new Promise<void>((resolve) => (this.open = resolve));

  /** `?hold` waits for the gate, `?throw` throws after it; otherwise the handler returns at once. */
  readonly work: Work = async (query) => {
    this.inFlight++;
    this.entered++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (query.has('hold')) await this.opened;
      if (query.has('pause')) await new Promise((resolve) => setTimeout(resolve, Number(query.get('pause'))));
      if (query.has('throw')) throw new Error('the handler failed');
    } finally {
      this.inFlight--;
    }
  };

  release(): void {
    this.open();
  }

  /** Closed again, for the next round. */
  reset(): void {
    this.open();
    this.opened = new Promise<void>((resolve) => (this.open = resolve));
  }
}
