import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess, eventually } from '../../support/service-process.js';
import { portOf, rawRequest, stalledConnection } from '../support/raw-http.js';

const REQUEST_TIMEOUT_MS = 1000;
const HEADERS_TIMEOUT_MS = 500;
/** Node checks its timeouts every min(1 s, headers timeout / 2); plus a loaded machine's slack. */
const TIMEOUT_SLACK_MS = 250 + 1000;

const SLOW_BODY =
  'POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"key":"k"';

/**
 * The Node server's bounds, on a real process: request and headers timeouts, the connection
 * bound, each logged and counted when hit, and a graceful stop that slow clients cannot hold.
 */
describe('HTTP server limits', () => {
  /** Short timeouts. */
  let short: ServiceProcess;
  /** Short timeouts and 10 connections at most; no other test connects to it. */
  let limited: ServiceProcess;
  /** Timeouts far longer than the graceful stop may take. */
  let patient: ServiceProcess;

  beforeAll(async () => {
    const shortTimeouts = [
      '--request-timeout-ms',
      String(REQUEST_TIMEOUT_MS),
      '--headers-timeout-ms',
      String(HEADERS_TIMEOUT_MS),
    ];
    [short, limited, patient] = await Promise.all([
      ServiceProcess.start(shortTimeouts),
      ServiceProcess.start([...shortTimeouts, '--max-connections', '10']),
      ServiceProcess.start([
        '--shutdown-timeout-ms',
        '20000',
        '--request-timeout-ms',
        '10000',
        '--headers-timeout-ms',
        '10000',
      ]),
    ]);
  });

  afterAll(async () => {
    await Promise.all([short, limited, patient].map((service) => service.stop('SIGKILL')));
  });

  async function refusals(service: ServiceProcess, kind: string): Promise<number> {
    const text = await (await service.fetch('/metrics')).text();
    return Number(
      new RegExp(`^ratelimiter_http_refusals_total\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0,
    );
  }

  async function idleClosed(service: ServiceProcess): Promise<number> {
    const text = await (await service.fetch('/metrics')).text();
    return Number(/^ratelimiter_http_idle_connections_closed_total (\d+)$/m.exec(text)?.[1] ?? 0);
  }

  it('answers 408 to a body that never arrives, and to a connection that never sends headers', async () => {
    const service = short;
    const port = portOf(service.url);
    const [slowBody, silent] = await Promise.all([
      rawRequest(port, SLOW_BODY, { waitMs: REQUEST_TIMEOUT_MS + TIMEOUT_SLACK_MS + 2000 }),
      rawRequest(port, '', { waitMs: HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS + 2000 }),
    ]);
    // Without a request timeout, neither would ever be answered: both would wait out waitMs.
    for (const reply of [slowBody, silent]) {
      expect(reply.status).toBe(408);
      expect(reply.closed).toBe(true);
      expect(JSON.parse(reply.body)).toMatchObject({ error: { code: 'request_timeout', field: 'request' } });
    }
    expect(await refusals(service, 'request_timeout')).toBe(2);
    await eventually(
      () =>
        Promise.resolve(
          service.logLines.some((line) =>
            /"refusal":"request_timeout".*"msg":"http: the request was not received in time/.test(line),
          ),
        ),
      'the request timeout warning',
    );
  });

  it('at the bound, closes the oldest idle connection to admit a new one, logs it and counts it', async () => {
    const service = limited;
    const port = portOf(service.url);
    const before = await idleClosed(service);
    // Ten connections that sent nothing (or whose keep-alive request was answered): all idle.
    const held: Awaited<ReturnType<typeof stalledConnection>>[] = [];
    for (let i = 0; i < 10; i++) {
      held.push(await stalledConnection(port, i === 9 ? 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' : ''));
      // Accepted by the server in this order.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const closedAt = held.map(() => false);
    held.forEach((socket, i) => socket.once('close', () => (closedAt[i] = true)));
    // Before: no reply, the new connection closed at once (status undefined); idle clients held every slot.
    const extra = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(extra.status).toBe(200);
    await eventually(() => Promise.resolve(closedAt[0] === true), 'the oldest idle connection closed');
    expect(closedAt.slice(1).every((closed) => !closed)).toBe(true);
    expect(await idleClosed(service)).toBeGreaterThanOrEqual(before + 1);
    await eventually(
      () => Promise.resolve(service.logLines.some((line) => line.includes('closing the oldest idle'))),
      'the idle-close warning',
    );
    for (const socket of held) socket.destroy();
  });

  it('closes connections past the bound at once when none is idle, logs it, and serves again once they time out', async () => {
    const service = limited;
    const port = portOf(service.url);
    // Requests under way (a body that never comes): nothing to close, so the newcomer is refused.
    // Let the server see the previous test's connections close, and then these headers arrive.
    const serverSide = () => new Promise((resolve) => setTimeout(resolve, 150));
    await serverSide();
    const held = await Promise.all(Array.from({ length: 10 }, () => stalledConnection(port, SLOW_BODY)));
    await serverSide();
    const extra = await rawRequest(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', { waitMs: 2000 });
    expect(extra).toMatchObject({ status: undefined, closed: true });
    await eventually(
      () => Promise.resolve(service.logLines.some((line) => line.includes('connection limit reached'))),
      'the connection limit warning',
    );
    // The request timeout frees their slots.
    // (A client whose connection was dropped may wait on it: undici's fetch does, so bound each try.)
    const healthz = () => service.fetch('/healthz', { signal: AbortSignal.timeout(1000) });
    await eventually(async () => (await healthz()).status === 200, 'serving again', 5000);
    expect(held.every((socket) => socket.replies.join('').startsWith('HTTP/1.1 408'))).toBe(true);
    expect(await refusals(service, 'connection_limit')).toBeGreaterThanOrEqual(1);
    for (const socket of held) socket.destroy();
  });

  it('stops gracefully at once with slow and idle clients connected', async () => {
    const service = patient;
    const port = portOf(service.url);
    const stalled = await Promise.all([
      stalledConnection(port, SLOW_BODY),
      stalledConnection(port, 'GET /healthz HTTP/1.1\r\nHo'),
      stalledConnection(port),
    ]);
    const idleKeepAlive = await stalledConnection(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(
      () => Promise.resolve(idleKeepAlive.replies.length > 0),
      'a reply on the keep-alive connection',
    );
    const started = performance.now();
    const code = await service.stop('SIGTERM');
    const elapsed = performance.now() - started;
    expect(code).toBe(0);
    // Far below both the request timeout and the shutdown timeout that would otherwise be waited out.
    expect(elapsed).toBeLessThan(5000);
    // stop() resolves once stdout is drained: every line the process wrote is in.
    expect(service.logLines.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
    for (const socket of [...stalled, idleKeepAlive]) socket.destroy();
  });
});
