/** The HTTP load generators of the bench, against a real Fastify server on loopback. */
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { autocannonTurn, pacedTurn } from '../../../bench/http-load.js';

describe('bench HTTP load', () => {
  let app: FastifyInstance;
  let url: string;
  const keys: string[] = [];

  beforeAll(async () => {
    app = Fastify();
    // Every third request is refused, so non-2xx answers are counted apart; the padding spreads an
    // answer over several reads.
    app.post<{ Body: { key: string } }>('/v1/check', async (request, reply) => {
      keys.push(request.body.key);
      return reply
        .code(keys.length % 3 === 0 ? 429 : 200)
        .send({ allowed: true, padding: 'x'.repeat(100_000) });
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await app.close();
  });

  it('paces an open loop: every scheduled request sent once, answered and counted', async () => {
    keys.length = 0;
    const turn = await pacedTurn(url, { connections: 4, durationMs: 300, rate: 400 });
    expect(keys).toHaveLength(120);
    expect(new Set(keys).size).toBe(120);
    expect(turn.errors).toBe(0);
    expect(turn.non2xx).toBe(40);
    expect(turn.p50Ms).toBeGreaterThan(0);
    expect(turn.p99Ms).toBeGreaterThanOrEqual(turn.p50Ms);
  });

  it('runs autocannon for a bounded time with every latency kept', async () => {
    keys.length = 0;
    const turn = await autocannonTurn(url, { connections: 2, durationMs: 300 });
    expect(keys.length).toBeGreaterThan(0);
    expect(turn.requestsPerSecond).toBeGreaterThan(0);
    expect(turn.errors).toBe(0);
    expect(turn.p999Ms).toBeGreaterThanOrEqual(turn.p50Ms);
  });
});
