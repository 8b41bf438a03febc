/**
 * Every section of `npm run bench [section...]`. Adding a section is one line here: a name, what it
 * measures, and what to load; its module is imported only when the section runs. A section whose
 * module is a script (it runs when imported and reads its own BENCH_* knobs) is loaded as is.
 */
import type { Knobs } from './knobs.js';
import type { Targets } from './targets.js';

/** What a section is handed: the run's knobs and the targets table it may add rows to. */
export interface SectionRun {
  knobs: Knobs;
  targets: Targets;
}

export interface Section {
  /** What it measures, in a line (`npm run bench -- --list`). */
  about: string;
  /** Part of a plain `npm run bench`: the tables of BENCHMARKS.md's main run. */
  byDefault?: true;
  run(run: SectionRun): Promise<unknown>;
}

export const SECTIONS = {
  redis: {
    about: 'the library on a RedisStore vs RateLimiterRedis vs our scripts driven raw',
    byDefault: true,
    run: async ({ knobs, targets }) => (await import('./library.js')).benchLibraryOnRedis(knobs, targets),
  },
  memory: {
    about: 'the library on a MemoryStore vs RateLimiterMemory',
    byDefault: true,
    run: async ({ knobs, targets }) => (await import('./library.js')).benchLibraryInMemory(knobs, targets),
  },
  sweep: {
    about: 'one RedisStore at 50 to 10,000 checks in flight: errors by code, degraded decisions',
    byDefault: true,
    run: async ({ knobs, targets }) => (await import('./sweep.js')).benchSweep(knobs, targets),
  },
  http: {
    about: 'POST /v1/check of the service (memory, Redis) vs a constant Fastify route',
    byDefault: true,
    run: async ({ knobs, targets }) => (await import('./http.js')).benchHttp(knobs, targets),
  },
  grpc: {
    about: 'gRPC ShouldRateLimit vs POST /v1/check vs a constant grpc-js route: server CPU per decision',
    byDefault: true,
    run: async ({ knobs, targets }) => (await import('./grpc.js')).benchGrpc(knobs, targets),
  },
  keys: {
    about: 'Redis bytes per counter, per algorithm',
    byDefault: true,
    run: async () => (await import('./memory.js')).benchMemoryPerKey(),
  },
  accuracy: {
    about: 'how far each algorithm strays from the exact sliding window',
    byDefault: true,
    run: async () => {
      (await import('./accuracy.js')).printAccuracy();
    },
  },
  console: {
    about:
      "the operator console's recorder (CPU per decision with and without) and its 10-node snapshot time",
    run: async ({ knobs }) => {
      (await import('./console.js')).benchConsole(knobs);
      await (await import('./console-snapshot.js')).benchConsoleSnapshot(knobs);
    },
  },
  middleware: {
    about: 'Express and Fastify apps with our middleware vs the peer libraries',
    run: () => import('./middleware.js'),
  },
  leases: {
    about:
      'acquire+release of a lease vs a check: over HTTP (service on Redis, memory), and the library on memory and Redis',
    run: async ({ knobs, targets }) => (await import('./leases.js')).benchLeases(knobs, targets),
  },
  'service-client': {
    about: 'ServiceStore against a running service: transports and batching',
    run: () => import('./service-client.js'),
  },
  faults: {
    about: 'answer times while Redis is killed or hung, per failure mode',
    run: () => import('./faults.js'),
  },
  rlqs: {
    about:
      'RLQS: 8 simulated Envoys on 2 nodes, one quota: over-admission, utilisation, fairness, CPU vs ShouldRateLimit',
    run: async ({ knobs, targets }) => (await import('./rlqs.js')).benchRlqs(knobs, targets),
  },
  soak: {
    about: '3 services on one Redis, 200 clients, SOAK_DURATION_MS (60 s)',
    run: () => import('./soak.js'),
  },
} satisfies Record<string, Section>;

export type SectionName = keyof typeof SECTIONS;

/** Names that stand for several sections. */
export const SECTION_GROUPS: Record<string, readonly SectionName[]> = {
  library: ['redis', 'memory'],
};

export const SECTION_NAMES = Object.keys(SECTIONS) as SectionName[];

export const DEFAULT_SECTIONS = SECTION_NAMES.filter(
  (name) => (SECTIONS[name] as Section).byDefault === true,
);
