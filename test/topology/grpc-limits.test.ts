import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RlsClient } from '../../support/rls-client.js';
import { EDGE_QUOTA_RULES, SimulatedEnvoy } from '../../support/rlqs-proxy.js';
import { ServiceProcess, eventually } from '../../support/service-process.js';
import { ERROR, FRAME, HEALTH_CHECK, RawH2Connection, SETTING, frame, grpcCall } from '../support/raw-h2.js';

const IDLE_MS = 600;
const KEEPALIVE_MS = 300;
const STREAMS = 8;
/** Well past every bound above, on a loaded machine: the bound holds or it does not. */
const WAIT_MS = 6000;

/**
 * The gRPC listener's bounds on a real process, hit with HTTP/2 written by hand: the connection
 * bound, the idle timeout (which a live RLQS stream is not), the per-connection stream cap, and a
 * socket closed after Node's HTTP/2 gave up on a malformed frame.
 */
describe('gRPC server limits', () => {
  let service: ServiceProcess;
  /** Four connections at most; only the connection-bound test connects to it. */
  let bounded: ServiceProcess;
  /** No stream cap to speak of: only the session memory bounds a connection. */
  let memoryBound: ServiceProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ratelimiter-grpc-limits-'));
    writeFileSync(join(dir, 'rules.yaml'), EDGE_QUOTA_RULES);
    const limits = [
      '--grpc-idle-timeout-ms',
      String(IDLE_MS),
      '--grpc-keepalive-ms',
      String(KEEPALIVE_MS),
      '--grpc-max-streams',
      String(STREAMS),
    ];
    [service, bounded, memoryBound] = await Promise.all([
      ServiceProcess.start([...limits, '--rules', join(dir, 'rules.yaml')]),
      ServiceProcess.start(['--grpc-max-connections', '4', '--grpc-keepalive-ms', '60000']),
      ServiceProcess.start(['--grpc-max-streams', '1000000', '--grpc-session-memory-mb', '1']),
    ]);
  });

  afterAll(async () => {
    await Promise.all([service, bounded, memoryBound].map((node) => node.stop('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });

  it('closes connections that say nothing, or nothing more, after the idle time', async () => {
    const [silent, prefaceOnly] = await Promise.all([
      RawH2Connection.open(service.grpcPort, { preface: false }),
      RawH2Connection.open(service.grpcPort),
    ]);
    // Without an idle timeout grpc-js holds both forever (its default is no bound).
    expect(await silent.closedWithin(WAIT_MS)).toBe(true);
    expect(await prefaceOnly.closedWithin(WAIT_MS)).toBe(true);
    expect(prefaceOnly.goaway()).toBeDefined();
  });

  it('keeps a live RLQS stream open past the idle time', async () => {
    const envoy = new SimulatedEnvoy({
      addresses: [`127.0.0.1:${service.grpcPort}`],
      domain: 'edge',
      reportIntervalMs: 200,
    });
    envoy.start();
    try {
      const bucket = { name: 'api', tenant: `live-${Date.now().toString(36)}` };
      envoy.request(bucket);
      await eventually(() => Promise.resolve(envoy.assignment(bucket) !== undefined), 'an assignment');
      const deadline = Date.now() + 4 * IDLE_MS;
      while (Date.now() < deadline) {
        envoy.request(bucket);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(envoy.totals.reconnects).toBe(0);
      expect(envoy.totals.streamErrors).toEqual([]);
    } finally {
      envoy.stop();
    }
  });

  /** A connection that never reads (window 0): nothing the server answers can be sent. */
  async function nonReader(port: number, options: { ack: boolean }): Promise<RawH2Connection> {
    const connection = await RawH2Connection.open(port, { settings: [[SETTING.INITIAL_WINDOW_SIZE, 0]] });
    if (options.ack) connection.ackSettings();
    return connection;
  }

  /** `count` health checks on streams 1, 3, 5, ..., sent in bursts as a flood would be. */
  function flood(connection: RawH2Connection, count: number): void {
    for (let sent = 0; sent < count; sent += 500) {
      const burst = Math.min(500, count - sent);
      connection.send(
        ...Array.from({ length: burst }, (_, index) =>
          grpcCall(1 + 2 * (sent + index), HEALTH_CHECK, Buffer.alloc(0)),
        ),
      );
    }
  }

  async function expectOthersAnswered(port: number): Promise<void> {
    const client = new RlsClient(`127.0.0.1:${port}`);
    try {
      expect(await client.healthCheck()).toBe('SERVING');
    } finally {
      client.close();
    }
  }

  it('refuses the streams past the cap of a connection that ignores it, and answers the others', async () => {
    // Not acknowledging the cap: nghttp2 refuses each stream past it (once acknowledged, a
    // stream past it is a connection error instead).
    const greedy = await nonReader(service.grpcPort, { ack: false });
    flood(greedy, 5 * STREAMS);
    await eventually(
      () => Promise.resolve(greedy.isClosed || greedy.resets(ERROR.REFUSED_STREAM) >= 4 * STREAMS),
      'the calls past the cap refused',
    );
    // Every accepted call stays open (its answer cannot be sent): without a cap all 40 would be.
    expect(greedy.resets(ERROR.REFUSED_STREAM)).toBe(4 * STREAMS);
    expect(greedy.answered()).toBe(STREAMS);
    await expectOthersAnswered(service.grpcPort);
    greedy.destroy();
  });

  it('refuses the calls of a connection that never reads past its session memory', async () => {
    const reader = await nonReader(memoryBound.grpcPort, { ack: true });
    const calls = 5000;
    flood(reader, calls);
    // Without Node's bound (grpc-js turns it off unless asked), every call is taken and its
    // unsendable answer kept: 6 such connections of 20,000 calls took the process to 900 MB.
    await eventually(
      () => Promise.resolve(reader.isClosed || reader.resets(ERROR.ENHANCE_YOUR_CALM) > 0),
      'calls refused for the session memory',
    );
    expect(reader.answered()).toBeLessThan(calls);
    await expectOthersAnswered(memoryBound.grpcPort);
    reader.destroy();
  });

  it('closes the socket soon after the GOAWAY that answers a malformed frame', async () => {
    const connection = await RawH2Connection.open(service.grpcPort);
    connection.ackSettings();
    // DATA on stream 0: a connection error. Node's HTTP/2 sends GOAWAY, then stops reading and
    // never closes the socket (no event tells grpc-js); the unanswered keepalive ping does.
    connection.send(frame(FRAME.DATA, 0, 0, Buffer.from('xx')));
    expect(await connection.closedWithin(WAIT_MS)).toBe(true);
    expect(connection.goaway()?.payload.readUInt32BE(4)).toBe(1); // PROTOCOL_ERROR
  });

  it('admits a client at the bound by closing the oldest silent connection, and counts it', async () => {
    const silent = await Promise.all(
      Array.from({ length: 4 }, () => RawH2Connection.open(bounded.grpcPort, { preface: false })),
    );
    // Each speaker takes the place of the oldest connection that never sent a byte: without that,
    // silent sockets lock every gRPC client out until the idle timeout (5 min by default).
    const speakers: RawH2Connection[] = [];
    for (const [index, victim] of silent.entries()) {
      const speaker = await RawH2Connection.open(bounded.grpcPort);
      speakers.push(speaker);
      // The server acknowledged our SETTINGS: it has read from this socket, which now counts as spoken.
      await eventually(() => Promise.resolve(speaker.settingsAcked()), `speaker ${index} acknowledged`);
      expect(await victim.closedWithin(WAIT_MS)).toBe(true);
      expect(silent.slice(index + 1).some((connection) => connection.isClosed)).toBe(false);
    }
    // Every connection has spoken: a new one is closed at once.
    const extra = await RawH2Connection.open(bounded.grpcPort);
    expect(await extra.closedWithin(WAIT_MS)).toBe(true);
    expect(speakers.some((connection) => connection.isClosed)).toBe(false);
    const metrics = await (await bounded.fetch('/metrics')).text();
    expect(metrics).toMatch(/^ratelimiter_grpc_connections_refused_total\{kind="silent_closed"\} 4$/m);
    expect(metrics).toMatch(/^ratelimiter_grpc_connections_refused_total\{kind="connection_limit"\} 1$/m);
    // HTTP is a listener of its own: still answered.
    expect((await bounded.fetch('/healthz')).status).toBe(200);
    for (const connection of speakers) connection.destroy();
    await eventually(
      () => Promise.resolve(bounded.logLines.some((line) => /RATELIMITER_GRPC_MAX_CONNECTIONS/.test(line))),
      'the warning',
    );
  });
});
