/**
 * `npm run bench console`: what the operator console's tallies and denied-keys sketch cost a
 * decision. The same metered limiter on a MemoryStore with and without the console's recorder,
 * in alternating rounds, on three loads: mostly allowed, all denied on 1,000 hot keys, and half
 * denied with every denial a new key (the sketch's worst case). CPU time per decision, paired ratios. The
 * in-process decision (about a microsecond) is the strictest base: a decision served over HTTP or
 * gRPC costs tens of microseconds, of which the console's added nanoseconds are a smaller share.
 */
import { ConsoleRecorder } from '../src/console/recorder.js';
import type { Check } from '../src/core/types.js';
import { RateLimiter } from '../src/limiter.js';
import { MeteredLimiter } from '../src/metrics/metered-limiter.js';
import { ServiceMetrics } from '../src/metrics/metrics.js';
import { MemoryStore } from '../src/stores/memory/memory-store.js';
import type { Knobs } from './knobs.js';
import { formatSpread, pairedRatios, printTable, spread } from './stats.js';

const DECISIONS_PER_TURN = 200_000;

interface Load {
  name: string;
  check(serial: number): Check;
}

const LOADS: Load[] = [
  {
    name: 'allowed (10,000 keys)',
    check: (serial) => ({
      key: `user:${serial % 10_000}`,
      limit: 1e9,
      windowMs: 60_000,
      cost: 1,
      algorithm: 'fixed-window',
    }),
  },
  {
    name: 'denied (1,000 hot keys)',
    check: (serial) => ({
      key: `hot:${serial % 1000}`,
      limit: 1,
      windowMs: 60_000,
      cost: 1,
      algorithm: 'fixed-window',
    }),
  },
  {
    name: 'half denied, every denial a new key',
    // Each key checked twice at a limit of 1: the second is denied, so the sketch meets only new keys.
    check: (serial) => ({
      key: `flood:${Math.floor(serial / 2)}`,
      limit: 1,
      windowMs: 60_000,
      cost: 1,
      algorithm: 'fixed-window',
    }),
  },
];

function limiter(withConsole: boolean): MeteredLimiter {
  const rateLimiter = new RateLimiter({ store: new MemoryStore() });
  return new MeteredLimiter(
    rateLimiter,
    new ServiceMetrics(),
    'memory',
    withConsole ? new ConsoleRecorder() : undefined,
  );
}

/** CPU µs per decision of one turn. */
function turn(subject: MeteredLimiter, load: Load, offset: number): number {
  const checks = Array.from({ length: DECISIONS_PER_TURN }, (_, i) => load.check(offset + i));
  const before = process.cpuUsage();
  for (const check of checks) {
    const decided = subject.decideNow(check);
    if (decided instanceof Promise) throw new Error('the memory store decides at once');
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / DECISIONS_PER_TURN;
}

export function benchConsole(knobs: Pick<Knobs, 'rounds'>): void {
  for (const load of LOADS) {
    const subjects = [limiter(false), limiter(true)];
    const cpu: number[][] = [[], []];
    subjects.forEach((subject, index) => turn(subject, load, -DECISIONS_PER_TURN * (index + 1))); // warm up
    for (let round = 0; round < knobs.rounds; round++) {
      for (let step = 0; step < 2; step++) {
        const index = (round + step) % 2;
        cpu[index]?.push(turn(subjects[index] as MeteredLimiter, load, round * DECISIONS_PER_TURN));
      }
    }
    const [without = [], withRecorder = []] = cpu;
    const added = pairedRatios(withRecorder, without).map((ratio) => ratio - 1);
    const addedNs = withRecorder.map((us, i) => (us - (without[i] ?? 0)) * 1000);
    printTable(
      `console recorder, ${load.name}: ${knobs.rounds} alternating rounds of ${DECISIONS_PER_TURN} decisions`,
      [
        { title: 'limiter' },
        { title: 'CPU µs/decision', align: 'right' },
        { title: 'added ns/decision', align: 'right' },
        { title: 'added share', align: 'right' },
      ],
      [
        ['MeteredLimiter', formatSpread(spread(without), 3), '', ''],
        [
          'MeteredLimiter + ConsoleRecorder',
          formatSpread(spread(withRecorder), 3),
          formatSpread(spread(addedNs), 0),
          formatSpread(spread(added.map((share) => share * 100)), 1) + ' %',
        ],
      ],
    );
  }
}
