/** What a run was measured on: printed first, so every table names its machine and code. */
import { execFileSync } from 'node:child_process';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';

function run(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
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
  const load = loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
  return [
    `date: ${new Date().toISOString()}; commit ${commit}${dirty}`,
    `machine: ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${gib(totalmem())} GiB (${gib(freemem())} free), ${process.platform} ${release()}`,
    `software: Node ${process.version}, redis-server ${redis}; load average at start ${load}`,
  ].join('\n');
}
