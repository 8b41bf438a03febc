/**
 * npm run soak: 3 service processes on one Redis, 200 concurrent HTTP clients for a bounded time
 * (SOAK_DURATION_MS, default 60 s) on hot and cold keys. Prints admitted vs the exact maximum on
 * the hot keys, latency, process memory at start and end, and Redis keys left after the windows.
 */
import { cpus } from 'node:os';
import { runSoak } from '../support/soak.js';

const durationMs = Number(process.env.SOAK_DURATION_MS ?? 60_000);
const clients = Number(process.env.SOAK_CLIENTS ?? 200);
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}, node ${process.version}`);
console.log(`soak: 3 services, ${clients} clients, ${durationMs} ms`);
const report = await runSoak(
  { services: 3, clients, durationMs, coldKeys: 100_000, hotLimit: 300 },
  (line) => {
    console.log(line);
  },
);
console.log(
  `requests ${report.requests} (${Math.round(report.requestsPerSecond)}/s), errors ${report.errors}, ` +
    `p50 ${report.p50Ms.toFixed(1)} ms, p99 ${report.p99Ms.toFixed(1)} ms`,
);
console.log('| hot key algorithm | admitted | exact maximum |');
console.log('|---|---:|---:|');
for (const hot of report.hot) console.log(`| ${hot.algorithm} | ${hot.admitted} | ${hot.exactMaximum} |`);
console.log(`RSS MB at start: ${report.rssStartMb.map((mb) => mb.toFixed(0)).join(', ')}`);
console.log(`RSS MB at end:   ${report.rssEndMb.map((mb) => mb.toFixed(0)).join(', ')}`);
console.log(
  `Redis keys left after the windows passed and the services stopped: ${report.redisKeysAfterWindows}`,
);
