/** What a run was measured on: printed first, so every table names its machine and code. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';

function run(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** The 1, 5 and 15 minute load averages: how busy the machine's other tenants are. */
export function loadAverage(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

export function describeMachine(): string {
  const cpu = cpus();
  const redis = /v=(\S+)/.exec(run('redis-server', ['--version']) ?? '')?.[1] ?? 'not found';
  const commit = run('git', ['rev-parse', '--short', 'HEAD']) ?? 'unknown';
  const dirty =
    (run('git', ['status', '--porcelain', '--untracked-files=no']) ?? '') === ''
      ? ''
      : ' (with local changes)';
  const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);
  return [
    `date: ${new Date().toISOString()}; commit ${commit}${dirty}`,
    `machine: ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${gib(totalmem())} GiB (${gib(freemem())} free), ${process.platform} ${release()}`,
    `software: Node ${process.version}, redis-server ${redis}; load average at start ${loadAverage()}`,
  ].join('\n');
}

const CLOCK_TICKS_PER_S = Number(run('getconf', ['CLK_TCK']) ?? 100) || 100;

/** CPU time (user + system) a process has used so far, in µs, from /proc (Linux); NaN elsewhere. */
export function processCpuUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks / CLOCK_TICKS_PER_S) * 1e6;
  } catch {
    return Number.NaN;
  }
}
