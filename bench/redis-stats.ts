/**
 * What a run cost the private redis-server, from INFO deltas: the time Redis spent executing
 * each entry command (commandstats) and the CPU of the whole server process (parsing, replies
 * and networking included).
 */
import type { Redis } from 'ioredis';

/**
 * Commands that run other commands: their time includes what they run, and the commands they
 * run are counted again under their own names. Only these are summed.
 */
const ENTRY_COMMANDS = new Set(['eval', 'eval_ro', 'evalsha', 'evalsha_ro', 'fcall', 'fcall_ro', 'exec']);

interface CommandStat {
  calls: number;
  usec: number;
}

export interface RedisSnapshot {
  commands: Map<string, CommandStat>;
  /** used_cpu_user + used_cpu_sys of the server, in µs. */
  cpuUs: number;
}

export interface RedisCost {
  /** Entry commands seen in the interval (`evalsha`, `fcall`, ...). */
  commands: string[];
  calls: number;
  /** Execution time of those calls, in µs. */
  usec: number;
  /** CPU of the server process over the interval, in µs. */
  serverCpuUs: number;
}

/** `cmdstat_evalsha:calls=12,usec=345,...` lines of INFO commandstats. */
export function parseCommandStats(info: string): Map<string, CommandStat> {
  const stats = new Map<string, CommandStat>();
  for (const line of info.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (match?.[1] !== undefined) stats.set(match[1], { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

/** used_cpu_user and used_cpu_sys (seconds, µs precision) of INFO cpu, summed in µs. */
export function parseServerCpuUs(info: string): number {
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return Math.round((field('used_cpu_user') + field('used_cpu_sys')) * 1e6);
}

export async function snapshot(admin: Redis): Promise<RedisSnapshot> {
  const [commands, cpu] = await Promise.all([admin.info('commandstats'), admin.info('cpu')]);
  return { commands: parseCommandStats(commands), cpuUs: parseServerCpuUs(cpu) };
}

export function costBetween(before: RedisSnapshot, after: RedisSnapshot): RedisCost {
  const cost: RedisCost = { commands: [], calls: 0, usec: 0, serverCpuUs: after.cpuUs - before.cpuUs };
  for (const [name, stat] of after.commands) {
    if (!ENTRY_COMMANDS.has(name)) continue;
    const calls = stat.calls - (before.commands.get(name)?.calls ?? 0);
    if (calls <= 0) continue;
    cost.commands.push(name);
    cost.calls += calls;
    cost.usec += stat.usec - (before.commands.get(name)?.usec ?? 0);
  }
  return cost;
}
