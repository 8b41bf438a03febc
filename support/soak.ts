import { Agent, request } from 'node:http';
import { Redis } from 'ioredis';
import { ServiceProcess, rssMb } from './service-process.js';
import { RedisServer } from './redis-server.js';

/**
 * Correctness under load: several service processes on one Redis, many concurrent HTTP clients,
 * a handful of hot keys and many cold ones, for a bounded time. Shared by the short soak in
 * `npm test` and the long one in `npm run soak`.
 */
export interface SoakOptions {
  services: number;
  clients: number;
  durationMs: number;
  /** Distinct cold keys (short windows, mostly admitted). */
  coldKeys: number;
  /** Limit of each hot key; the traffic must be well above it for the exactness check to bite. */
  hotLimit: number;
}

const EXACT = ['sliding-window-log', 'fixed-window', 'token-bucket'] as const;
/** Longer than any soak: the exact maximum over the run is known in advance. */
const HOT_WINDOW_MS = 86_400_000;
const COLD_WINDOW = '1s';
const ADMIN_TOKEN = 'soak-admin-token-0123456789';

export interface HotKeyResult {
  key: string;
  algorithm: (typeof EXACT)[number];
  admitted: number;
  exactMaximum: number;
}

export interface SoakReport {
  requests: number;
  errors: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  hot: HotKeyResult[];
  rssStartMb: number[];
  rssEndMb: number[];
  redisKeysAfterWindows: number;
}

/** The most a key can admit over [start, end] with a day-long window, per algorithm. */
function exactMaximum(
  algorithm: (typeof EXACT)[number],
  limit: number,
  startMs: number,
  endMs: number,
): number {
  if (algorithm === 'fixed-window') {
    const windows = Math.floor(endMs / HOT_WINDOW_MS) - Math.floor(startMs / HOT_WINDOW_MS) + 1;
    return limit * windows;
  }
  if (algorithm === 'token-bucket') {
    return limit + Math.floor((limit * (endMs - startMs)) / HOT_WINDOW_MS);
  }
  return limit; // the log: never more than the limit within any window
}

export async function runSoak(
  options: SoakOptions,
  log: (line: string) => void = () => undefined,
): Promise<SoakReport> {
  const redis = await RedisServer.start();
  const services: ServiceProcess[] = [];
  const admin = new Redis(redis.url);
  try {
    for (let i = 0; i < options.services; i++) {
      services.push(
        await ServiceProcess.start([
          '--redis',
          redis.url,
          '--node-id',
          `soak-${i}`,
          // The listening line the harness waits for is an info line.
          '--log-level',
          'info',
          '--admin-token',
          ADMIN_TOKEN,
          '--store-timeout-ms',
          '1000',
        ]),
      );
    }
    const runId = Date.now().toString(36);
    const hotKeys = EXACT.flatMap((algorithm) =>
      [0, 1].map((i) => ({ key: `hot:${runId}:${algorithm}:${i}`, algorithm })),
    );
    const admittedHot = new Map<string, number>(hotKeys.map(({ key }) => [key, 0]));
    // Warm every process (connections, scripts) before measuring memory.
    await Promise.all(services.map((service) => service.fetch('/readyz')));
    const rssStartMb = services.map((service) => rssMb(service.pid));
    const latencies: number[] = [];
    let requests = 0;
    let errors = 0;
    const startedAt = Date.now();
    const deadline = startedAt + options.durationMs;

    // Plain keep-alive HTTP: fetch costs the load generator more CPU than the services it loads.
    const agent = new Agent({ keepAlive: true, maxSockets: options.clients });
    const client = async (clientIndex: number) => {
      let n = 0;
      while (Date.now() < deadline) {
        const service = services[(clientIndex + n) % services.length] as ServiceProcess;
        n++;
        // Half the traffic on the hot keys, half spread over the cold ones.
        const hot = n % 2 === 0 ? hotKeys[(clientIndex + n) % hotKeys.length] : undefined;
        const body = hot
          ? { key: hot.key, limit: options.hotLimit, window: `${HOT_WINDOW_MS}ms`, algorithm: hot.algorithm }
          : {
              key: `cold:${runId}:${Math.floor(Math.random() * options.coldKeys)}`,
              limit: 5,
              window: COLD_WINDOW,
            };
        const sent = performance.now();
        requests++;
        try {
          const response = await postJson(agent, service.url, '/v1/check', body);
          const decision = JSON.parse(response.body) as { allowed?: boolean; degraded?: boolean };
          if (response.status !== 200 || decision.degraded === true) errors++;
          else if (hot && decision.allowed === true)
            admittedHot.set(hot.key, (admittedHot.get(hot.key) ?? 0) + 1);
        } catch {
          errors++;
        }
        if ((requests & 7) === 0) latencies.push(performance.now() - sent);
      }
    };
    await Promise.all(Array.from({ length: options.clients }, (_, i) => client(i)));
    const endedAt = Date.now();
    agent.destroy();
    const rssEndMb = services.map((service) => rssMb(service.pid));
    log(`traffic done: ${requests} requests in ${endedAt - startedAt} ms`);

    // The hot counters' windows last a day: reset them through the admin API, then let the cold
    // windows (1 s + 1 s grace) pass, stop the services (they deregister) and count what is left.
    for (const { key, algorithm } of hotKeys) {
      const path = `/v1/counters/${encodeURIComponent(key)}?window=${HOT_WINDOW_MS}ms&algorithm=${algorithm}`;
      const response = await services[0]?.fetch(path, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      if (response?.status !== 204 && response?.status !== 200)
        throw new Error(`reset failed: ${response?.status}`);
    }
    await Promise.all(services.map((service) => service.stop('SIGTERM')));
    const settleDeadline = Date.now() + 5000;
    while ((await admin.dbsize()) > 0 && Date.now() < settleDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    latencies.sort((a, b) => a - b);
    const at = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    return {
      requests,
      errors,
      requestsPerSecond: requests / ((endedAt - startedAt) / 1000),
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      hot: hotKeys.map(({ key, algorithm }) => ({
        key,
        algorithm,
        admitted: admittedHot.get(key) ?? 0,
        exactMaximum: exactMaximum(algorithm, options.hotLimit, startedAt, endedAt),
      })),
      rssStartMb,
      rssEndMb,
      redisKeysAfterWindows: await admin.dbsize(),
    };
  } finally {
    admin.disconnect();
    await Promise.all(services.map((service) => service.stop('SIGKILL')));
    await redis.stop();
  }
}

function postJson(
  agent: Agent,
  base: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, base),
      {
        agent,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
