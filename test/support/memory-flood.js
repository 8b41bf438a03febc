// A flood of unique keys on a MemoryStore with its default bound, in a process of its own whose
// heap the test caps (--max-old-space-size): it must not crash, and the store must hold no more
// than its bound, by its own account and on the heap. Run with --expose-gc; prints one JSON line.
import process from 'node:process';
import { getHeapStatistics } from 'node:v8';
import { ALGORITHM_NAMES, MemoryStore, RateLimiter } from 'ratelimiter-service';

const KEYS = Number(process.env.FLOOD_KEYS ?? '1000000');
const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('run with --expose-gc');

function heapUsed() {
  gc();
  gc();
  return getHeapStatistics().used_heap_size;
}

/** Keys of the lengths traffic has: short ids, user names, long API tokens. */
function keyOf(i) {
  if (i % 3 === 0) return `u:${i}`;
  if (i % 3 === 1) return `user:${i}@example.com`;
  return `tenant-${i % 97}/token/${i.toString(36).padStart(24, 'x')}`;
}

const store = new MemoryStore({ sweepIntervalMs: 0 });
const limiter = new RateLimiter({ store });
const baseline = heapUsed();
let overBound = 0;
for (let i = 0; i < KEYS; i++) {
  const algorithm = ALGORITHM_NAMES[i % ALGORITHM_NAMES.length];
  // One key in ten is checked four times: logs of several entries, as busy clients have.
  const times = i % 10 === 0 ? 4 : 1;
  for (let time = 0; time < times; time++) {
    await limiter.check({ key: keyOf(i), limit: 100, window: '1h', algorithm });
  }
  if (i % 10_000 === 0) {
    const { bytes, maxBytes } = store.stats();
    if (bytes > maxBytes) overBound++;
  }
}
const stats = store.stats();
const heapBytes = heapUsed() - baseline;
process.stdout.write(
  `${JSON.stringify({ ...stats, heapBytes, overBound, heapLimit: getHeapStatistics().heap_size_limit })}\n`,
);
await limiter.close();
