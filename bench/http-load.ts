/**
 * Load on `POST /v1/check` over loopback, bounded in time: autocannon's closed loop (as fast as
 * the connections go, or capped by its `overallRate`), and an evenly paced open loop. Latencies
 * are kept per response at full precision (autocannon's own histogram keeps whole milliseconds).
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import autocannon from 'autocannon';
import { percentile } from './stats.js';

/** Distinct keys cycled through, so no counter grows large and most checks are admitted. */
const KEYS = 10_000;
/** A request that has not been answered in this long counts as an error (the load stays bounded). */
const REQUEST_TIMEOUT_MS = 10_000;

export interface HttpTurn {
  elapsedMs: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  non2xx: number;
  errors: number;
}

export function checkBody(serial: number): string {
  return JSON.stringify({ key: `user:${serial % KEYS}`, limit: 100, window: '1m' });
}

function summary(
  latencies: number[],
  answered: number,
  elapsedMs: number,
  non2xx: number,
  errors: number,
): HttpTurn {
  latencies.sort((a, b) => a - b);
  return {
    elapsedMs,
    requestsPerSecond: answered / (elapsedMs / 1000),
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    p999Ms: percentile(latencies, 0.999),
    non2xx,
    errors,
  };
}

/**
 * autocannon for `durationMs`. With `overallRate`, note how autocannon paces: each connection
 * sends its per-second quota as fast as it can when the second starts, then waits for the next.
 */
export function autocannonTurn(
  url: string,
  { connections, durationMs, overallRate }: { connections: number; durationMs: number; overallRate?: number },
): Promise<HttpTurn> {
  const latencies: number[] = [];
  let serial = 0;
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections,
        duration: durationMs / 1000,
        // autocannon checks for the end of the run once per sample interval (default 1 s).
        sampleInt: 100,
        ...(overallRate === undefined ? {} : { overallRate }),
        requests: [
          {
            method: 'POST',
            path: '/v1/check',
            headers: { 'content-type': 'application/json' },
            setupRequest: (req) => ({ ...req, body: checkBody(serial++) }),
          },
        ],
      },
      (error: unknown, result) => {
        if (error) {
          reject(error instanceof Error ? error : new Error(`autocannon failed: ${JSON.stringify(error)}`));
          return;
        }
        const elapsedMs = performance.now() - startedAt;
        resolve(
          summary(latencies, latencies.length, elapsedMs, result.non2xx, result.errors + result.timeouts),
        );
      },
    );
    instance.on('response', (_client, _status, _bytes, responseTimeMs) => {
      latencies.push(responseTimeMs);
    });
  });
}

/**
 * One keep-alive HTTP/1.1 connection sending one request at a time, as lean as autocannon's
 * client (node:http costs several times more CPU per request, and the load generator shares the
 * machine with the server). It reads only the status line and Content-Length, which is all a
 * Fastify JSON answer needs.
 */
class LeanConnection {
  private readonly socket: Socket;
  private pending: Buffer = Buffer.alloc(0);
  private answer: ((status: number | Error) => void) | undefined;
  /** Settles once connected (or failed: the first send then fails), so no turn times a handshake. */
  readonly connected: Promise<void>;

  constructor(
    private readonly target: URL,
    onClose: () => void,
  ) {
    this.socket = connect({ host: target.hostname, port: Number(target.port) });
    this.socket.setNoDelay(true);
    this.connected = new Promise((resolve) => {
      this.socket.once('connect', resolve);
      this.socket.once('close', resolve);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      this.readResponse();
    });
    this.socket.on('error', (error) => {
      this.settle(error);
    });
    this.socket.on('close', () => {
      this.settle(new Error('connection closed'));
      onClose();
    });
  }

  /** Resolves with the status code, or an Error; never rejects. */
  send(path: string, body: string): Promise<number | Error> {
    const head =
      `POST ${path} HTTP/1.1\r\nHost: ${this.target.host}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    this.socket.write(head + body);
    return new Promise((resolve) => (this.answer = resolve));
  }

  close(): void {
    this.socket.destroy();
  }

  private readResponse(): void {
    const end = this.pending.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.pending.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (length === undefined) {
      this.settle(new Error('a response without Content-Length'));
      this.socket.destroy();
      return;
    }
    const total = end + 4 + Number(length);
    if (this.pending.length < total) return;
    this.pending = this.pending.subarray(total);
    this.settle(Number(head.slice(9, 12)));
  }

  private settle(status: number | Error): void {
    const answer = this.answer;
    this.answer = undefined;
    answer?.(status);
  }
}

/**
 * An open loop: `rate` requests per second spread evenly over `durationMs`, on up to
 * `connections` keep-alive connections. A request's latency runs from the moment it was due and
 * the generator got to it (a timer tick, at most about a millisecond late): a request that waits
 * for a free connection because the server is slow counts its wait (no coordinated omission).
 */
export async function pacedTurn(
  url: string,
  { connections, durationMs, rate }: { connections: number; durationMs: number; rate: number },
): Promise<HttpTurn> {
  const target = new URL('/v1/check', url);
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let closed = 0;
  const idle: LeanConnection[] = Array.from(
    { length: connections },
    () =>
      new LeanConnection(target, () => {
        closed++;
      }),
  );
  await Promise.all(idle.map((connection) => connection.connected));
  const waiting: { since: number; body: string }[] = [];
  let inFlight = 0;
  const dispatch = (connection: LeanConnection, since: number, body: string) => {
    inFlight++;
    void connection.send(target.pathname, body).then((status) => {
      inFlight--;
      if (status instanceof Error) {
        errors++;
        return; // that connection is gone
      }
      latencies.push(performance.now() - since);
      if (status < 200 || status > 299) non2xx++;
      const next = waiting.shift();
      if (next) dispatch(connection, next.since, next.body);
      else idle.push(connection);
    });
  };
  const total = Math.floor((rate * durationMs) / 1000);
  const intervalMs = 1000 / rate;
  const startedAt = performance.now();
  const deadline = startedAt + durationMs + REQUEST_TIMEOUT_MS;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - startedAt) / intervalMs) + 1);
      for (; sent < due; sent++) {
        const body = checkBody(sent);
        const connection = idle.pop();
        if (connection) dispatch(connection, now, body);
        else waiting.push({ since: now, body });
      }
      const finished = sent >= total && inFlight === 0 && waiting.length === 0;
      if (finished || now > deadline || closed === connections) {
        clearInterval(timer);
        errors += inFlight + waiting.length;
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
    tick();
  });
  const elapsedMs = performance.now() - startedAt;
  for (const connection of idle) connection.close();
  return summary(latencies, latencies.length, elapsedMs, non2xx, errors);
}
