/**
 * `npm run bench:profile -- <case...>`: a CPU profile of the load phase of one bench case, then a
 * summary of it (top frames by self time, time by area, inclusive time of the frames that matter).
 * Cases: http-memory, http-redis, http-constant (the constant Fastify route), grpc-memory,
 * grpc-redis, library-redis (in this process: the library on Redis, then the raw script driver),
 * library-memory (in this process: the library on a MemoryStore, 100k random keys, then RateLimiterMemory).
 * The server is its own process, profiled from SIGUSR2 to SIGUSR2 by bench/profile-hook.js, so
 * start-up and warm-up are not in the profile. BENCH_PROFILE_MS sets the load time (default 10 s);
 * BENCH_PROFILE_KEEP=dir keeps the `.cpuprofile` files (for a flame graph viewer).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryStore, RateLimiter, RedisStore } from '../src/index.js';
import type { AlgorithmName } from '../src/index.js';
import { parseCheck } from '../src/core/validate.js';
import { Redis } from 'ioredis';
import { RedisServer } from '../support/redis-server.js';
import { RlsClient } from '../support/rls-client.js';
import { ServiceProcess } from '../support/service-process.js';
import { startChildServer } from './child-server.js';
import { printProfile, summariseProfile } from './cpu-profile.js';
import { shouldRateLimit, writeBenchRules } from './envoy-load.js';
import { answering, closedLoop } from './harness.js';
import type { Operation } from './harness.js';
import { peerInMemory } from './peer.js';
import { autocannonTurn } from './http-load.js';
import { describeMachine, loadAverage } from './machine.js';
import { rawCheckScript } from './raw-scripts.js';

const CASES = [
  'http-memory',
  'http-redis',
  'http-constant',
  'grpc-memory',
  'grpc-redis',
  'library-redis',
  'library-memory',
] as const;
type Case = (typeof CASES)[number];

const LOAD_MS = Number(process.env.BENCH_PROFILE_MS ?? 10_000);
const KEEP = process.env.BENCH_PROFILE_KEEP;
const HOOK = fileURLToPath(new URL('./profile-hook.js', import.meta.url));
const CONNECTIONS = 50;
const GRPC_IN_FLIGHT = 50;
const GRPC_CHANNELS = 4;

/** Frames whose inclusive time says where a decision goes, by transport. */
const INCLUSIVE: Record<'http' | 'grpc' | 'library', string[]> = {
  http: [
    'runPreParsing',
    'wrapValidationError',
    'validateParam',
    'handler',
    'decide',
    'serialize',
    'onSendEnd',
    'setRateLimitHeaders',
    'parseCheck',
    'submit',
    'sendChecks',
    'evalsha',
    'parserOnHeadersComplete',
    'writeGeneric',
    'writevGeneric',
  ],
  grpc: [
    'handleUnary',
    'deserializeMessage',
    'serializeMessage',
    'deserialize',
    'serialize',
    'requestFromWire',
    'responseToWire',
    'shouldRateLimit',
    'matchDescriptor',
    'validateRateLimitRequest',
    'descriptorKey',
    'decideMany',
    'submit',
    'sendChecks',
    'evalsha',
    'onStreamReadable',
    'respond',
    'writevGeneric',
    'writeGeneric',
  ],
  library: [
    'check',
    'decide',
    'submit',
    'flush',
    'sendChecks',
    'encodeArgs',
    'counterKey',
    'evalsha',
    'sendCommand',
    'returnReply',
    'execute',
    'toDecision',
    'parseOutcomes',
    'run',
    'writevGeneric',
    'writeGeneric',
    'onStreamRead',
  ],
};

function signal(pid: number): void {
  process.kill(pid, 'SIGUSR2');
}

async function waitForFile(path: string): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 50) {
    if (existsSync(path)) {
      // Written in one call: give it a moment to finish.
      await new Promise((resolve) => setTimeout(resolve, 200));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no profile at ${path}`);
}

function report(name: Case, path: string, operations: number, inclusive: string[]): void {
  if (KEEP !== undefined) {
    mkdirSync(KEEP, { recursive: true });
    copyFileSync(path, join(KEEP, `${name}.cpuprofile`));
  }
  printProfile(name, summariseProfile(path, inclusive), operations);
}

/** A server process profiled while `load` runs; `load` answers the operations it completed. */
async function profileServer(
  name: Case,
  dir: string,
  start: (env: Record<string, string>) => Promise<{ pid: number; stop: () => Promise<unknown> }>,
  load: (durationMs: number) => Promise<number>,
  inclusive: string[],
): Promise<void> {
  const out = join(dir, `${name}.cpuprofile`);
  const server = await start({
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${HOOK}`.trim(),
    BENCH_PROFILE_OUT: out,
  });
  try {
    await load(2000);
    signal(server.pid);
    const operations = await load(LOAD_MS);
    signal(server.pid);
    await waitForFile(out);
    report(name, out, operations, inclusive);
  } finally {
    await server.stop();
  }
}

async function httpLoad(url: string, durationMs: number): Promise<number> {
  const turn = await autocannonTurn(url, { connections: CONNECTIONS, durationMs });
  return Math.round((turn.requestsPerSecond * turn.elapsedMs) / 1000);
}

function grpcLoad(port: number): (durationMs: number) => Promise<number> {
  const channels = Array.from({ length: GRPC_CHANNELS }, () => new RlsClient(`127.0.0.1:${port}`));
  const op = answering(shouldRateLimit(channels));
  return async (durationMs) => {
    const result = await closedLoop(op, { inFlight: GRPC_IN_FLIGHT, durationMs });
    if (durationMs === LOAD_MS) for (const channel of channels) channel.close();
    return result.answered;
  };
}

async function service(args: string[], env: Record<string, string>) {
  const started = await ServiceProcess.start(args, env);
  return { started, pid: started.pid, stop: () => started.stop('SIGTERM') };
}

interface InProcessSubject {
  label: string;
  op: Operation;
  inFlight: number;
  perCall: number;
}

/** Subjects of this process profiled one after the other, each after a 1 s warm-up of its own. */
async function profileInProcess(
  name: Case,
  dir: string,
  subjects: readonly InProcessSubject[],
): Promise<void> {
  const session = new Session();
  session.connect();
  try {
    for (const subject of subjects) {
      await closedLoop(subject.op, { inFlight: subject.inFlight, durationMs: 1000 });
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 500 });
      await session.post('Profiler.start');
      const result = await closedLoop(subject.op, { inFlight: subject.inFlight, durationMs: LOAD_MS });
      const { profile } = await session.post('Profiler.stop');
      const file = `${name}-${subject.label.replaceAll(' ', '-')}.cpuprofile`;
      const out = join(dir, file);
      writeFileSync(out, JSON.stringify(profile));
      if (KEEP !== undefined) {
        mkdirSync(KEEP, { recursive: true });
        copyFileSync(out, join(KEEP, file));
      }
      printProfile(
        `${name}: ${subject.label}`,
        summariseProfile(out, INCLUSIVE.library),
        result.answered * subject.perCall,
      );
    }
  } finally {
    session.disconnect();
  }
}

const randomKey = () => `bench:key:${Math.floor(Math.random() * 100_000)}`;

async function profileLibrary(name: Case, dir: string, redisUrl: string): Promise<void> {
  const store = new RedisStore({ url: redisUrl });
  const limiter = new RateLimiter({ store });
  const raw = new Redis(redisUrl);
  try {
    for (const algorithm of ['sliding-window-log', 'fixed-window'] as AlgorithmName[]) {
      const library = answering(() => limiter.check({ key: randomKey(), limit: 100, window: 60, algorithm }));
      const pool = Array.from({ length: 65_536 }, () =>
        parseCheck({ key: randomKey(), limit: 100, window: 60, algorithm }),
      );
      const ceiling = await rawCheckScript(raw, store, 'raw', pool, { checksPerCall: 100, callsInFlight: 2 });
      await profileInProcess(name, dir, [
        { label: `library ${algorithm}`, op: library, inFlight: 200, perCall: 1 },
        { label: `raw script ${algorithm}`, op: ceiling.op, inFlight: 2, perCall: 100 },
      ]);
    }
  } finally {
    raw.disconnect();
    await limiter.close();
  }
}

/** The memory section's random-key case: the library on a MemoryStore per algorithm, then the peer. */
async function profileMemory(name: Case, dir: string): Promise<void> {
  const limiters: RateLimiter[] = [];
  const subjects: InProcessSubject[] = (['sliding-window-log', 'fixed-window'] as AlgorithmName[]).map(
    (algorithm) => {
      const limiter = new RateLimiter({ store: new MemoryStore() });
      limiters.push(limiter);
      const op = answering(() => limiter.check({ key: randomKey(), limit: 100, window: 60, algorithm }));
      return { label: `library ${algorithm}`, op, inFlight: 200, perCall: 1 };
    },
  );
  const peer = peerInMemory({ limit: 100, windowS: 60 }, randomKey);
  subjects.push({ label: 'RateLimiterMemory', op: peer.op, inFlight: 200, perCall: 1 });
  try {
    await profileInProcess(name, dir, subjects);
  } finally {
    await Promise.all(limiters.map((limiter) => limiter.close()));
  }
}

async function runCase(name: Case, dir: string, redisUrl: string, rulesFile: string): Promise<void> {
  switch (name) {
    case 'http-memory':
    case 'http-redis': {
      const args = name === 'http-redis' ? ['--redis', redisUrl] : [];
      let url = '';
      await profileServer(
        name,
        dir,
        async (env) => {
          const started = await service(args, env);
          url = started.started.url;
          return started;
        },
        (durationMs) => httpLoad(url, durationMs),
        INCLUSIVE.http,
      );
      return;
    }
    case 'http-constant': {
      let url = '';
      await profileServer(
        name,
        dir,
        async (env) => {
          const started = await startChildServer(
            new URL('./constant-server.ts', import.meta.url),
            'constant server',
            env,
          );
          url = started.url;
          return started;
        },
        (durationMs) => httpLoad(url, durationMs),
        INCLUSIVE.http,
      );
      return;
    }
    case 'grpc-memory':
    case 'grpc-redis': {
      const args = [
        '--rules',
        rulesFile,
        ...(name === 'grpc-redis' ? ['--redis', redisUrl, '--store-timeout-ms', '1000'] : []),
      ];
      let load: (durationMs: number) => Promise<number> = () => Promise.resolve(0);
      await profileServer(
        name,
        dir,
        async (env) => {
          const started = await service(args, env);
          load = grpcLoad(started.started.grpcPort);
          return started;
        },
        (durationMs) => load(durationMs),
        INCLUSIVE.grpc,
      );
      return;
    }
    case 'library-redis':
      await profileLibrary(name, dir, redisUrl);
      return;
    case 'library-memory':
      await profileMemory(name, dir);
      return;
  }
}

const asked = process.argv.slice(2);
for (const name of asked) {
  if (!(CASES as readonly string[]).includes(name)) {
    throw new RangeError(`unknown profile case ${JSON.stringify(name)} (one of ${CASES.join(', ')})`);
  }
}
console.log(describeMachine());
const dir = mkdtempSync(join(tmpdir(), 'ratelimiter-profile-'));
const rules = writeBenchRules();
const redis = await RedisServer.start();
try {
  for (const name of (asked.length > 0 ? asked : CASES) as Case[]) {
    console.log(`\n[${name}: load average ${loadAverage()}]`);
    await runCase(name, dir, redis.url, rules.path);
  }
} finally {
  await redis.stop();
  rules.remove();
  rmSync(dir, { recursive: true, force: true });
}
