import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminConnections, pollUntil } from './admin.js';
import { RedisServer, freePort } from './redis-server.js';
import { tlsServerArgs } from './tls.js';
import type { TestCertificates } from './tls.js';

const MASTER_NAME = 'main';
/** Replicas sync at once (diskless, no delay) instead of after Redis's default 5 s. */
const FAST_SYNC = ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'];

export interface SentinelHarnessOptions {
  /** Required by the master and the replica (and used between them). */
  password?: string;
  /** Required by the sentinel itself. */
  sentinelPassword?: string;
  /**
   * Clients, replication and the sentinel's links use TLS (the plain ports stay open for the
   * harness's own probes and commands); the URL then asks for TLS.
   */
  tls?: TestCertificates;
}

/**
 * Redis under Sentinel: a master, one replica and one sentinel (quorum 1, master down after
 * 1 s), all on free loopback ports and stopped by PID in stop(). Debian ships Sentinel as
 * `redis-server <config> --sentinel`; it needs a writable config file, so it gets its own dir.
 */
export class RedisSentinelHarness {
  private readonly nodes: AdminConnections;
  private readonly sentinels: AdminConnections;
  private sentinel: ChildProcess | undefined;
  readonly sentinelPort: number;
  private readonly sentinelDir = mkdtempSync(join(tmpdir(), 'ratelimiter-sentinel-'));
  /** With TLS, the port clients use for each server (and the sentinel), by its plain port. */
  private readonly tlsPorts: Map<number, number>;

  private constructor(
    readonly master: RedisServer,
    readonly replica: RedisServer,
    sentinelPort: number,
    private readonly options: SentinelHarnessOptions,
    tlsPorts: Map<number, number>,
  ) {
    this.sentinelPort = sentinelPort;
    this.tlsPorts = tlsPorts;
    this.nodes = new AdminConnections(options.password);
    this.sentinels = new AdminConnections(options.sentinelPassword);
  }

  static async start(options: SentinelHarnessOptions = {}): Promise<RedisSentinelHarness> {
    const { tls } = options;
    const [masterTls, replicaTls] = tls ? [await freePort(), await freePort()] : [undefined, undefined];
    const tlsArgs = (port: number | undefined) =>
      tls && port ? [...tlsServerArgs(tls, port), '--tls-replication', 'yes'] : [];
    const master = await RedisServer.start([...FAST_SYNC, ...tlsArgs(masterTls)]);
    const replica = await RedisServer.start([
      ...FAST_SYNC,
      ...tlsArgs(replicaTls),
      '--replicaof',
      '127.0.0.1',
      String(masterTls ?? master.port),
    ]);
    const tlsPorts = new Map<number, number>();
    const sentinelPort = await freePort();
    if (masterTls && replicaTls) {
      tlsPorts.set(master.port, masterTls);
      tlsPorts.set(replica.port, replicaTls);
      tlsPorts.set(sentinelPort, await freePort());
    }
    const harness = new RedisSentinelHarness(master, replica, sentinelPort, options, tlsPorts);
    try {
      await harness.requirePassword();
      // The sentinel learns the replica from the master's INFO: start it once the replica is linked.
      await pollUntil(
        'replica in sync',
        async () =>
          String(await harness.nodes.command(replica.port, 'INFO', 'replication')).includes(
            'master_link_status:up',
          )
            ? true
            : undefined,
        10_000,
      );
      await harness.startSentinel();
      return harness;
    } catch (error) {
      await harness.stop();
      throw error;
    }
  }

  /** `redis+sentinel://` with the data nodes' password and the sentinel's, when set. */
  get url(): string {
    const { password, sentinelPassword } = this.options;
    const credentials = password === undefined ? '' : `:${encodeURIComponent(password)}@`;
    const query =
      sentinelPassword === undefined ? '' : `?sentinelPassword=${encodeURIComponent(sentinelPassword)}`;
    const tls = this.options.tls ? `${query === '' ? '?' : '&'}tls=true` : '';
    return `redis+sentinel://${credentials}127.0.0.1:${this.clientPort(this.sentinelPort)}/${MASTER_NAME}${query}${tls}`;
  }

  /** Where clients reach a server: its TLS port with TLS, else its plain port. */
  private clientPort(plainPort: number): number {
    return this.tlsPorts.get(plainPort) ?? plainPort;
  }

  /** The plain (admin) port of a server the sentinel names by its client port. */
  private plainPort(clientPort: number): number {
    return [...this.tlsPorts].find(([, tlsPort]) => tlsPort === clientPort)?.[0] ?? clientPort;
  }

  /** One command on the master or the replica, by port. */
  async command(port: number, ...args: (string | number)[]): Promise<unknown> {
    return this.nodes.command(port, ...args);
  }

  /** The master's (plain, admin) port as the sentinel reports it. */
  async masterPort(): Promise<number> {
    const reply = await this.sentinels.command(
      this.sentinelPort,
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      MASTER_NAME,
    );
    return this.plainPort(Number((reply as string[])[1]));
  }

  /** Empty the master (the replica follows): nothing a previous test wrote is left. */
  async flushAll(): Promise<void> {
    await this.command(await this.masterPort(), 'FLUSHALL');
  }

  /** The server on a plain port: the master or the replica. */
  server(port: number): RedisServer {
    if (port === this.master.port) return this.master;
    if (port === this.replica.port) return this.replica;
    throw new Error(`no server on port ${port}`);
  }

  /**
   * Until the sentinel has finished failing over to the server on `promotedPort` (plain port):
   * for faults the test makes itself (SIGSTOP, say).
   */
  async untilFailedOverTo(promotedPort: number, timeoutMs = 15_000): Promise<void> {
    await pollUntil(
      'sentinel failover complete',
      async () => {
        const state = await this.sentinelView('MASTER');
        const done =
          state.port === String(this.clientPort(promotedPort)) &&
          !(state.flags ?? '').includes('failover_in_progress');
        return done ? true : undefined;
      },
      timeoutMs,
    );
  }

  /**
   * Fail the current master over to the other server (once per harness: the old master is not
   * made a replica again in time for a second one); resolves with the new master's port once the
   * sentinel has finished (+switch-master: while the failover is still in progress the sentinel
   * already names the promoted replica). `kill`: SIGKILL the master, noticed after
   * down-after-milliseconds. `graceful`: SENTINEL FAILOVER; the old master stays up, still a
   * master until Sentinel converts it on its next INFO (up to 10 s later).
   */
  async failover(how: 'kill' | 'graceful', timeoutMs = 15_000): Promise<number> {
    const oldPort = await this.masterPort();
    const [oldMaster, promoted] =
      oldPort === this.master.port ? [this.master, this.replica] : [this.replica, this.master];
    if (how === 'kill') await oldMaster.kill();
    else await this.sentinels.command(this.sentinelPort, 'SENTINEL', 'FAILOVER', MASTER_NAME);
    await this.untilFailedOverTo(promoted.port, timeoutMs);
    return promoted.port;
  }

  /** SENTINEL MASTER, or the first of SENTINEL REPLICAS, as field → value. */
  private async sentinelView(what: 'MASTER' | 'REPLICAS'): Promise<Record<string, string | undefined>> {
    const reply = await this.sentinels.command(this.sentinelPort, 'SENTINEL', what, MASTER_NAME);
    const fields = (what === 'MASTER' ? reply : (reply as unknown[])[0]) as string[] | undefined;
    const view: Record<string, string | undefined> = {};
    for (let i = 0; i + 1 < (fields?.length ?? 0); i += 2) view[fields?.[i] ?? ''] = fields?.[i + 1];
    return view;
  }

  /** Stop the sentinel, the master and the replica, each by PID. */
  async stop(): Promise<void> {
    this.nodes.close();
    this.sentinels.close();
    const sentinel = this.sentinel;
    if (sentinel && sentinel.exitCode === null && sentinel.signalCode === null) {
      const gone = new Promise((resolve) => sentinel.once('exit', resolve));
      sentinel.kill('SIGKILL');
      await gone;
    }
    rmSync(this.sentinelDir, { recursive: true, force: true });
    await Promise.all([this.master.stop(), this.replica.stop()]);
  }

  /** Passwords go on once the servers are up: RedisServer's readiness probe is an unauthenticated PING. */
  private async requirePassword(): Promise<void> {
    const { password } = this.options;
    if (password === undefined) return;
    const open = new AdminConnections();
    try {
      for (const { port } of [this.master, this.replica]) {
        await open.command(port, 'CONFIG', 'SET', 'masterauth', password, 'requirepass', password);
      }
    } finally {
      open.close();
    }
  }

  private async startSentinel(): Promise<void> {
    const { password, sentinelPassword, tls } = this.options;
    const config = join(this.sentinelDir, 'sentinel.conf');
    const sentinelTls = this.tlsPorts.get(this.sentinelPort);
    const lines = [
      `port ${this.sentinelPort}`,
      'bind 127.0.0.1',
      `dir ${this.sentinelDir}`,
      // The sentinel talks TLS to clients (its TLS port) and to the servers it monitors.
      ...(tls && sentinelTls
        ? [
            `tls-port ${sentinelTls}`,
            `tls-cert-file ${tls.certFile}`,
            `tls-key-file ${tls.keyFile}`,
            `tls-ca-cert-file ${tls.caFile}`,
            'tls-auth-clients no',
            'tls-replication yes',
          ]
        : []),
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${this.clientPort(this.master.port)} 1`,
      `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
      `sentinel failover-timeout ${MASTER_NAME} 5000`,
      ...(password === undefined ? [] : [`sentinel auth-pass ${MASTER_NAME} ${password}`]),
      ...(sentinelPassword === undefined ? [] : [`requirepass ${sentinelPassword}`]),
    ];
    writeFileSync(config, `${lines.join('\n')}\n`);
    const sentinel = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' });
    this.sentinel = sentinel;
    await this.untilSentinelTrustsReplica(this.replica.port, 10_000);
  }

  /**
   * Until the sentinel has a live link to the replica and sees it synced: before that, a failover
   * finds no replica it may promote (NOGOODSLAVE).
   */
  private async untilSentinelTrustsReplica(port: number, timeoutMs: number): Promise<void> {
    await pollUntil(
      'sentinel trusting the replica',
      async () => {
        const replica = await this.sentinelView('REPLICAS');
        const trusted =
          replica.port === String(this.clientPort(port)) &&
          replica.flags === 'slave' &&
          replica['master-link-status'] === 'ok';
        return trusted ? true : undefined;
      },
      timeoutMs,
    );
  }
}
