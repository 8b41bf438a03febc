/**
 * Side by side in one run: every subject takes a turn in each round (A B C, then B C A, ...), so
 * load from anything else on the machine falls on all of them alike, and ratios are taken round
 * by round.
 */
import type { Redis } from 'ioredis';
import { closedLoop } from './harness.js';
import type { Operation } from './harness.js';
import { costBetween, snapshot } from './redis-stats.js';

export interface Subject {
  name: string;
  op: Operation;
  /** Checks decided by one call: 1, or N for a batched script call. Default 1. */
  checksPerCall?: number;
  /** Calls in flight, when not the run's checks in flight (batched calls: checks / checksPerCall). */
  inFlight?: number;
}

export interface RedisSample {
  commands: string[];
  usPerCall: number;
  callsPerCheck: number;
  usPerCheck: number;
  serverCpuUsPerCheck: number;
}

/** One subject's turn in one round. */
export interface Sample {
  checksPerSecond: number;
  checks: number;
  admittedShare: number;
  errors: Map<string, number>;
  p50Ms: number;
  p99Ms: number;
  nodeCpuUsPerCheck: number;
  /**
   * Node and redis-server CPU per check: what a check costs the machine. Far steadier than
   * throughput on a shared machine, where other processes take the CPUs for seconds at a time.
   */
  cpuUsPerCheck: number;
  redis?: RedisSample;
}

export interface RoundsOptions {
  rounds: number;
  durationMs: number;
  inFlight: number;
  /** A connection that only reads INFO, for the Redis cost of each turn. */
  redisAdmin?: Redis;
}

async function turn(subject: Subject, options: RoundsOptions, durationMs: number): Promise<Sample> {
  const before = options.redisAdmin ? await snapshot(options.redisAdmin) : undefined;
  const load = await closedLoop(subject.op, { inFlight: subject.inFlight ?? options.inFlight, durationMs });
  const after = options.redisAdmin ? await snapshot(options.redisAdmin) : undefined;
  const checks = load.answered * (subject.checksPerCall ?? 1);
  const sample: Sample = {
    checksPerSecond: checks / (load.elapsedMs / 1000),
    checks,
    admittedShare: load.admitted / Math.max(1, checks),
    errors: load.errors,
    p50Ms: load.p50Ms,
    p99Ms: load.p99Ms,
    nodeCpuUsPerCheck: load.cpuUs / Math.max(1, checks),
    cpuUsPerCheck: load.cpuUs / Math.max(1, checks),
  };
  if (before && after) {
    const cost = costBetween(before, after);
    sample.redis = {
      commands: cost.commands,
      usPerCall: cost.usec / Math.max(1, cost.calls),
      callsPerCheck: cost.calls / Math.max(1, checks),
      usPerCheck: cost.usec / Math.max(1, checks),
      serverCpuUsPerCheck: cost.serverCpuUs / Math.max(1, checks),
    };
    sample.cpuUsPerCheck += sample.redis.serverCpuUsPerCheck;
  }
  return sample;
}

/**
 * An in-memory turn runs in microtasks only, so no timer fires during it (neither our store's
 * sweep nor the peer's per-key expiry timers): their due work runs between turns, outside both.
 */
function yieldToTimers(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A short warm-up turn per subject (JIT, connections, script loads), then `rounds` rounds.
 * Returns the samples per subject, in round order.
 */
export async function interleavedRounds(
  subjects: readonly Subject[],
  options: RoundsOptions,
): Promise<Sample[][]> {
  const warmupMs = Math.min(500, options.durationMs);
  for (const subject of subjects) {
    await turn(subject, options, warmupMs);
    await yieldToTimers();
  }
  const samples: Sample[][] = subjects.map(() => []);
  for (let round = 0; round < options.rounds; round++) {
    for (let step = 0; step < subjects.length; step++) {
      const index = (round + step) % subjects.length;
      const subject = subjects[index];
      if (subject) samples[index]?.push(await turn(subject, options, options.durationMs));
      await yieldToTimers();
    }
  }
  return samples;
}
