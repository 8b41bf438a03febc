import { Agent, request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/index.js';
import type { ManualClock } from '../../src/index.js';
import { parseAcquire } from '../../src/core/leases.js';
import type { LeaseAcquire, LeaseDecision, LeaseRenewal, RenewResult } from '../../src/core/leases.js';
import { request, tally, until } from './adapter-http.js';
import { FRAMEWORKS, Gate, closeAll, cuttable } from './concurrency-apps.js';
import type { AnyOptions } from './concurrency-apps.js';

/**
 * The middleware's `concurrency` option, on Express, Fastify and Hono, over one store: the memory
 * store in the unit tier, a real Redis in the redis tier. The store's clock is a ManualClock, so a
 * lease expires only when a test moves time on; the renewal timer runs on real time.
 */

/** A RateLimiter that counts the acquires and renewals the middleware makes. */
export class ObservedLimiter extends RateLimiter {
  acquires = 0;
  renewals = 0;

  override acquireLease(lease: LeaseAcquire): Promise<LeaseDecision> {
    this.acquires++;
    return super.acquireLease(lease);
  }

  override async renewLease(renewal: LeaseRenewal): Promise<RenewResult> {
    const result = await super.renewLease(renewal);
    this.renewals++;
    return result;
  }

  /** Units the key's live leases hold (a zero-cost look, not counted as an acquire). */
  async held(key: string): Promise<number> {
    return (await super.acquireLease(parseAcquire({ key, limit: 1_000_000, ttl: 1, cost: 0 }))).inFlight;
  }
}

export interface LeaseSubject {
  limiter: ObservedLimiter;
  clock: ManualClock;
}

let keys = 0;

export function describeConcurrencyMiddleware(storeName: string, open: () => Promise<LeaseSubject>): void {
  afterEach(closeAll);

  describe.each(FRAMEWORKS)(`$name concurrency on the ${storeName} store`, (framework) => {
    /** A fresh key, limiter and app; the gate holds the handlers the test asks it to. */
    async function start(options: Partial<AnyOptions> & Pick<AnyOptions, 'concurrency'>) {
      const subject = await open();
      const key = `${framework.name}:${storeName}:${++keys}:${Date.now()}`;
      const gate = new Gate();
      const url = await framework.start({ limiter: subject.limiter, key: () => key, ...options }, gate.work);
      const held = () => subject.limiter.held(key);
      const freed = () => until(async () => (await held()) === 0, 'every lease released');
      return { ...subject, key, gate, url, held, freed };
    }

    it('admits exactly N of N+1 slow requests; the last gets 429 with Retry-After, then all are freed', async () => {
      const { gate, url, held, freed } = await start({ concurrency: { limit: 3, ttl: '10s' } });
      const answers = Array.from({ length: 4 }, () => request(`${url}/work?hold`));
      const denied = await Promise.race(answers);
      await until(() => Promise.resolve(gate.inFlight === 3), 'three requests in their handlers');
      expect(denied.status).toBe(429);
      expect(denied.headers.get('retry-after')).toBe('10');
      expect(denied.headers.get('ratelimit-policy')).toBe('"concurrency";q=3;qu="concurrent-requests"');
      expect(denied.headers.get('ratelimit')).toBe('"concurrency";r=0;t=10');
      expect(denied.json).toEqual({
        error: { code: 'rate_limited', message: 'too many requests in flight: retry in 10 s' },
      });
      expect(await held()).toBe(3);
      gate.release();
      expect(tally((await Promise.all(answers)).map((answer) => answer.status))).toEqual({ 200: 3, 429: 1 });
      await freed();
      // Released on finish: a second round gets all three slots again.
      gate.reset();
      const again = Array.from({ length: 3 }, () => request(`${url}/work?hold`));
      await until(() => Promise.resolve(gate.inFlight === 3), 'a second round of three');
      gate.release();
      expect((await Promise.all(again)).map((answer) => answer.status)).toEqual([200, 200, 200]);
      await freed();
    });

    it('frees the lease of a client that goes away mid-request, while its handler still runs', async () => {
      const { gate, url, freed } = await start({ concurrency: { limit: 1, ttl: '10s' } });
      const cut = cuttable(`${url}/work?hold`);
      await until(() => Promise.resolve(gate.inFlight === 1), 'the request in its handler');
      expect((await request(`${url}/work`)).status).toBe(429);
      cut.abort();
      expect(await cut.status).toBe('aborted');
      await freed();
      expect(gate.inFlight).toBe(1);
      expect((await request(`${url}/work`)).status).toBe(200);
      gate.release();
      await freed();
    });

    it('frees the lease of a handler that throws', async () => {
      const { url, freed } = await start({ concurrency: { limit: 1, ttl: '10s' } });
      expect((await request(`${url}/work?throw`)).status).toBe(500);
      await freed();
      expect((await request(`${url}/work`)).status).toBe(200);
      await freed();
    });

    it('renews the lease of a request that outlasts its ttl, so a competitor is still refused', async () => {
      const { limiter, clock, gate, url, held, freed } = await start({
        concurrency: { limit: 1, ttl: '200ms' },
      });
      const long = request(`${url}/work?hold`);
      await until(() => Promise.resolve(gate.inFlight === 1), 'the request in its handler');
      // Five renewals, each followed by 150 ms of store time: 750 ms in all, past the 200 ms ttl.
      for (let step = 0; step < 5; step++) {
        const before = limiter.renewals;
        await until(() => Promise.resolve(limiter.renewals > before), 'a renewal');
        clock.advanceMs(150);
      }
      expect(await held()).toBe(1);
      expect((await request(`${url}/work`)).status).toBe(429);
      gate.release();
      expect((await long).status).toBe(200);
      await freed();
    });

    it('with a rate limit: a rate denial takes no lease; a full concurrency gives the rate unit back', async () => {
      const { limiter, key, gate, url, freed } = await start({
        limit: 2,
        window: '1m',
        concurrency: { limit: 1, ttl: '10s' },
      });
      const spent = async () => (await limiter.peek({ key, limit: 2, window: '1m' })).count;
      const long = request(`${url}/work?hold`);
      await until(() => Promise.resolve(gate.inFlight === 1), 'the request in its handler');
      const full = await request(`${url}/work`);
      expect(full.status).toBe(429);
      expect(full.headers.get('ratelimit-policy')).toBe(
        '"default";q=2;w=60, "concurrency";q=1;qu="concurrent-requests"',
      );
      await until(async () => (await spent()) === 1, 'the refused request refunded');
      gate.release();
      expect((await long).status).toBe(200);
      await freed();
      expect((await request(`${url}/work`)).status).toBe(200);
      const acquires = limiter.acquires;
      const limited = await request(`${url}/work`);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('ratelimit-policy')).toBe('"default";q=2;w=60');
      expect(limiter.acquires).toBe(acquires);
      await freed();
    });

    it('a burst of 2,000 at once against limit 5 has at most 5 in its handlers at any moment', async () => {
      const { gate, url, freed } = await start({ concurrency: { limit: 5, ttl: '10s' } });
      const agent = new Agent({ keepAlive: true, maxSockets: 256 });
      try {
        const statuses = await Promise.all(
          Array.from({ length: 2000 }, () => statusOf(`${url}/work?pause=2`, agent)),
        );
        expect(statuses.filter((status) => status !== 200 && status !== 429)).toEqual([]);
        expect(tally(statuses)[200]).toBe(gate.entered);
        expect(gate.maxInFlight).toBeLessThanOrEqual(5);
        expect(gate.maxInFlight).toBeGreaterThanOrEqual(1);
      } finally {
        agent.destroy();
      }
      await freed();
    });
  });
}

function statusOf(url: string, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(url, { agent }, (response) => {
      response.resume();
      response.on('end', () => {
        resolve(response.statusCode ?? 0);
      });
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}
