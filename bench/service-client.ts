/**
 * `npm run bench:service-client`: checks/s through ServiceStore against a running service (built
 * CLI, memory store, its own process) with 200 checks in flight: Node's keep-alive agent one check
 * per request, the same with batching into POST /v1/checks, and Node's fetch (undici) one check per
 * request as the transport to compare with. Rounds interleaved; medians.
 */
import { cpus } from 'node:os';
import { RateLimiter, ServiceStore } from '../src/index.js';
import { answeredPerSecond, answering, closedLoop, errorCount, median } from './harness.js';
import { ServiceProcess } from '../support/service-process.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_S ?? 6) * 1000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 200);
const KEYS = 10_000;

interface Client {
  name: string;
  check(key: string): Promise<unknown>;
  close(): Promise<void>;
}

function storeClient(name: string, url: string, batch: boolean): Client {
  const limiter = new RateLimiter({
    store: new ServiceStore({ url, batch, timeoutMs: 5000, maxSockets: 64 }),
  });
  return {
    name,
    check: (key) => limiter.check({ key, limit: 100, window: '1m' }),
    close: () => limiter.close(),
  };
}

function fetchClient(url: string): Client {
  return {
    name: "Node's fetch (undici), one check per request",
    check: async (key) => {
      const response = await fetch(`${url}/v1/check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key, limit: 100, window: '1m' }),
        signal: AbortSignal.timeout(5000),
      });
      return response.json();
    },
    close: () => Promise.resolve(),
  };
}

/** IN_FLIGHT checks back to back for `ms`, on keys cycling through KEYS. */
async function measure(client: Client, ms: number): Promise<{ perSecond: number; errors: number }> {
  const result = await closedLoop(
    answering((i) => client.check(`user:${i % KEYS}`)),
    {
      inFlight: IN_FLIGHT,
      durationMs: ms,
    },
  );
  return { perSecond: answeredPerSecond(result), errors: errorCount(result) };
}

const service = await ServiceProcess.start([]);
const clients = [
  storeClient("ServiceStore, Node's keep-alive agent", service.url, false),
  storeClient('ServiceStore, batched into POST /v1/checks', service.url, true),
  fetchClient(service.url),
];
try {
  for (const client of clients) await measure(client, 1000); // warm-up
  const rounds = clients.map(() => [] as { perSecond: number; errors: number }[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [index, client] of clients.entries())
      rounds[index]?.push(await measure(client, DURATION_MS / ROUNDS));
  }
  const rates = rounds.map((list) => median(list.map((r) => r.perSecond)));
  const base = rates[0] ?? Number.NaN;
  console.log(
    `\n${IN_FLIGHT} checks in flight, service on the memory store, ${DURATION_MS / 1000} s per client in ${ROUNDS} interleaved rounds (medians), ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), Node ${process.version}\n`,
  );
  console.log('| client | checks/s | vs keep-alive agent | errors |');
  console.log('|---|---:|---:|---:|');
  for (const [index, client] of clients.entries()) {
    const errors = (rounds[index] ?? []).reduce((n, r) => n + r.errors, 0);
    console.log(
      `| ${client.name} | ${Math.round(rates[index] ?? 0)} | ${((rates[index] ?? 0) / base).toFixed(2)} | ${errors} |`,
    );
  }
} finally {
  await Promise.all(clients.map((client) => client.close()));
  await service.stop();
}
