/**
 * `npm run bench`: every table of BENCHMARKS.md in one run, each comparison side by side in
 * alternating rounds, ending with the targets of issue 8. Sections: BENCH_ONLY=redis,sweep (or
 * `npm run bench -- redis sweep`); knobs: see BENCHMARKS.md.
 */
import { Redis } from 'ioredis';
import { RateLimiter, RedisStore } from '../src/index.js';
import { RedisServer } from '../support/redis-server.js';
import { printAccuracy } from './accuracy.js';
import { firstErrorMessages } from './harness.js';
import { benchHttp } from './http.js';
import { readKnobs } from './knobs.js';
import type { Knobs } from './knobs.js';
import { benchLibraryInMemory, benchLibraryOnRedis } from './library.js';
import { describeMachine, loadAverage } from './machine.js';
import { printMemoryPerKey } from './memory.js';
import { benchSweep } from './sweep.js';
import { Targets } from './targets.js';

async function benchMemoryPerKey(): Promise<void> {
  const server = await RedisServer.start();
  // Filling a counter sends up to 10,000 checks at once: a generous timeout, this is not a speed test.
  const limiter = new RateLimiter({ store: new RedisStore({ url: server.url, timeoutMs: 10_000 }) });
  const client = new Redis(server.url);
  try {
    await printMemoryPerKey(limiter, client);
  } finally {
    client.disconnect();
    await limiter.close();
    await server.stop();
  }
}

const knobs: Knobs = readKnobs(process.argv.slice(2));
const targets = new Targets();
const startedAt = performance.now();
console.log(describeMachine());
console.log(`sections: ${knobs.sections.join(', ')}`);
for (const section of knobs.sections) {
  console.log(`\n[${section}: load average ${loadAverage()}]`);
  if (section === 'redis') await benchLibraryOnRedis(knobs, targets);
  if (section === 'memory') await benchLibraryInMemory(knobs, targets);
  if (section === 'sweep') await benchSweep(knobs, targets);
  if (section === 'http') await benchHttp(knobs, targets);
  if (section === 'keys') await benchMemoryPerKey();
  if (section === 'accuracy') printAccuracy();
}
targets.print();
if (firstErrorMessages.size > 0) {
  console.log('\nErrors met (code: its first message)\n');
  for (const [code, message] of firstErrorMessages) console.log(`- ${code}: ${message}`);
}
console.log(
  `\nbench done in ${((performance.now() - startedAt) / 1000).toFixed(0)} s; load average at the end ${loadAverage()}`,
);
