/**
 * Loaded into a profiled server process (`--import`, see bench/profile.ts): SIGUSR2 starts the V8
 * CPU profiler, the next SIGUSR2 stops it and writes the profile to BENCH_PROFILE_OUT. Unlike
 * `node --cpu-prof`, the profile holds the load phase only: no start-up, no warm-up, no shutdown.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import process from 'node:process';

const out = process.env.BENCH_PROFILE_OUT;
const intervalUs = Number(process.env.BENCH_PROFILE_INTERVAL_US ?? 500);
const session = new Session();
session.connect();
let profiling = false;

process.on('SIGUSR2', () => {
  if (!profiling) {
    profiling = true;
    session.post('Profiler.enable', () => {
      session.post('Profiler.setSamplingInterval', { interval: intervalUs }, () => {
        session.post('Profiler.start');
      });
    });
    return;
  }
  profiling = false;
  session.post('Profiler.stop', (error, result) => {
    if (error || out === undefined) return;
    writeFileSync(out, JSON.stringify(result.profile));
  });
});
