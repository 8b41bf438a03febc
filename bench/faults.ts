/**
 * npm run bench:faults: how long checks take to be answered while Redis is killed, hung
 * (SIGSTOP) and back, per failure mode, with the default 50 ms store timeout.
 */
import { FAILURE_MODES, RateLimiter, RedisStore } from '../src/index.js';
import { RedisServer } from '../support/redis-server.js';

const TIMEOUT_MS = 50;
const CHECKS = 200;

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

async function answerTimes(limiter: RateLimiter): Promise<string> {
  const times: number[] = [];
  let errors = 0;
  // 20 concurrent callers, 10 checks each.
  await Promise.all(
    Array.from({ length: 20 }, async (_, caller) => {
      for (let i = 0; i < CHECKS / 20; i++) {
        const started = performance.now();
        await limiter.check({ key: `fault:${caller}`, limit: 100, window: 60 }).catch(() => errors++);
        times.push(performance.now() - started);
      }
    }),
  );
  times.sort((a, b) => a - b);
  const f = (ms: number) => ms.toFixed(1);
  return `${f(percentile(times, 0.5))} | ${f(percentile(times, 0.99))} | ${f(times[times.length - 1] ?? 0)} | ${errors}`;
}

const server = await RedisServer.start();
console.log(`store timeout ${TIMEOUT_MS} ms, ${CHECKS} checks per row from 20 concurrent callers`);
console.log('| fault | mode | p50 ms | p99 ms | max ms | errors |');
console.log('|---|---|---:|---:|---:|---:|');
try {
  for (const fault of ['killed', 'hung (SIGSTOP)'] as const) {
    for (const mode of FAILURE_MODES) {
      const limiter = new RateLimiter({
        store: new RedisStore({ url: server.url, timeoutMs: TIMEOUT_MS }),
        failurePolicy: { mode },
      });
      await limiter.check({ key: 'warm', limit: 100, window: 60 });
      if (fault === 'killed') await server.kill();
      else server.pause();
      console.log(`| ${fault} | ${mode} | ${await answerTimes(limiter)} |`);
      if (fault === 'killed') {
        // Down for a while: the client now waits out its reconnect backoff.
        await new Promise((resolve) => setTimeout(resolve, 300));
        console.log(`| killed, 300 ms later | ${mode} | ${await answerTimes(limiter)} |`);
      }
      if (fault === 'killed') await server.restart();
      else server.resume();
      const restartedAt = performance.now();
      for (;;) {
        const decision = await limiter
          .check({ key: 'back', limit: 100_000, window: 60 })
          .catch(() => undefined);
        if (decision && decision.degraded !== true) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      console.log(
        `| back after ${fault} | ${mode} | recovered in ${(performance.now() - restartedAt).toFixed(0)} ms | | | |`,
      );
      await limiter.close();
    }
  }
} finally {
  server.resume();
  await server.stop();
}
