import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminConnections, pollUntil } from './admin.js';
import { RedisServer, freePort, waitForPong } from './redis-server.js';

const MASTER_NAME = 'main';
/** Replicas sync at once (diskless, no delay) instead of after Redis's default 5 s. */
const FAST_SYNC = ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'];

/**
 * Redis under Sentinel: a master, one replica and one sentinel (quorum 1, master down after
 * 1 s), all on free loopback ports and stopped by PID in stop(). Debian ships Sentinel as
 * `redis-server <config> --sentinel`; it needs a writable config file, so it gets its own dir.
 */
export class RedisSentinelHarness {
  private readonly admin = new AdminConnections();

  private constructor(
    readonly master: RedisServer,
    readonly replica: RedisServer,
    private readonly sentinel: ChildProcess,
    readonly sentinelPort: number,
    private readonly sentinelDir: string,
  ) {}

  static async start(): Promise<RedisSentinelHarness> {
    const master = await RedisServer.start(FAST_SYNC);
    const replica = await RedisServer.start([...FAST_SYNC, '--replicaof', '127.0.0.1', String(master.port)]);
    const admin = new AdminConnections();
    const dir = mkdtempSync(join(tmpdir(), 'ratelimiter-sentinel-'));
    try {
      // The sentinel learns the replica from the master's INFO: start it once the replica is linked.
      await pollUntil(
        'replica in sync',
        async () =>
          String(await admin.command(replica.port, 'INFO', 'replication')).includes('master_link_status:up')
            ? true
            : undefined,
        10_000,
      );
      const port = await freePort();
      const config = join(dir, 'sentinel.conf');
      writeFileSync(
        config,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} 1`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 5000`,
          '',
        ].join('\n'),
      );
      const sentinel = spawn('redis-server', [config, '--sentinel'], { stdio: 'ignore' });
      const harness = new RedisSentinelHarness(master, replica, sentinel, port, dir);
      const exited = new Promise<never>((_, reject) => {
        sentinel.once('exit', (code) => {
          reject(new Error(`redis sentinel on port ${port} exited with ${code}`));
        });
      });
      exited.catch(() => undefined);
      try {
        await Promise.race([waitForPong(port), exited]);
        await pollUntil(
          'sentinel knows the replica',
          async () =>
            ((await harness.command(port, 'SENTINEL', 'REPLICAS', MASTER_NAME)) as unknown[]).length > 0
              ? true
              : undefined,
          10_000,
        );
      } catch (error) {
        await harness.stop();
        throw error;
      }
      return harness;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      await Promise.all([master.stop(), replica.stop()]);
      throw error;
    } finally {
      admin.close();
    }
  }

  get url(): string {
    return `redis+sentinel://127.0.0.1:${this.sentinelPort}/${MASTER_NAME}`;
  }

  async command(port: number, ...args: (string | number)[]): Promise<unknown> {
    return this.admin.command(port, ...args);
  }

  /** The master's port as the sentinel reports it. */
  async masterPort(): Promise<number> {
    const [, port] = (await this.command(
      this.sentinelPort,
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      MASTER_NAME,
    )) as string[];
    return Number(port);
  }

  /** SIGKILL the master; resolves once the sentinel has promoted the replica. */
  async killMasterAndWaitForFailover(timeoutMs = 15_000): Promise<void> {
    await this.master.kill();
    await pollUntil(
      'sentinel failover',
      async () => {
        if ((await this.masterPort()) !== this.replica.port) return undefined;
        return String(await this.command(this.replica.port, 'ROLE')).startsWith('master') ? true : undefined;
      },
      timeoutMs,
    );
  }

  /** Stop the sentinel, the master and the replica, each by PID. */
  async stop(): Promise<void> {
    this.admin.close();
    if (this.sentinel.exitCode === null && this.sentinel.signalCode === null) {
      const gone = new Promise((resolve) => this.sentinel.once('exit', resolve));
      this.sentinel.kill('SIGKILL');
      await gone;
    }
    rmSync(this.sentinelDir, { recursive: true, force: true });
    await Promise.all([this.master.stop(), this.replica.stop()]);
  }
}
