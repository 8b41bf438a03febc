import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AdminConnections, pollUntil } from './admin.js';
import { RedisServer, freePort } from './redis-server.js';
import { tlsServerArgs } from './tls.js';
import type { TestCertificates } from './tls.js';

const run = promisify(execFile);

/** One line of CLUSTER NODES, as the helpers need it. */
export interface ClusterNodeInfo {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** For a replica: the id of its master. */
  masterId: string | undefined;
  failed: boolean;
  /** Slot ranges served, for a master: [first, last] inclusive. */
  slots: [number, number][];
}

/**
 * A real Redis Cluster of 3 masters with one replica each: six redis-server processes on free
 * loopback ports, each with its own directory (nodes.conf), joined by `redis-cli --cluster create`.
 * Every process is stopped by PID in stop(); the machine's own Redis is never touched.
 */
export class RedisClusterHarness {
  private readonly admin: AdminConnections;
  /** With TLS, the port each node announces and clients use, by its plain port. */
  private readonly tlsPorts = new Map<number, number>();

  private constructor(
    readonly servers: RedisServer[],
    readonly nodeTimeoutMs: number,
    private readonly password: string | undefined,
    private readonly tls: TestCertificates | undefined,
  ) {
    this.admin = new AdminConnections(password);
  }

  /**
   * Start and join the cluster; resolves once every node reports cluster_state:ok and replicas are
   * in sync. With `password`, every node requires it (clients, replication and the URL alike). With
   * `tls`, clients, replication and the cluster bus use TLS; the plain ports stay open for the
   * harness's own probes and commands.
   */
  static async start(
    options: { nodeTimeoutMs?: number; password?: string; tls?: TestCertificates } = {},
  ): Promise<RedisClusterHarness> {
    const { nodeTimeoutMs = 1000, password, tls } = options;
    const servers: RedisServer[] = [];
    const cluster = new RedisClusterHarness(servers, nodeTimeoutMs, password, tls);
    try {
      // One at a time: each server holds its ports before the next free port is asked for.
      for (let i = 0; i < 6; i++) {
        const tlsPort = tls ? await freePort() : undefined;
        const tlsArgs =
          tls && tlsPort
            ? [...tlsServerArgs(tls, tlsPort), '--tls-cluster', 'yes', '--tls-replication', 'yes']
            : [];
        const server = await RedisServer.start([...(await clusterNodeArgs(nodeTimeoutMs)), ...tlsArgs]);
        servers.push(server);
        if (tlsPort) cluster.tlsPorts.set(server.port, tlsPort);
        await cluster.requirePassword(server.port);
      }
      const tlsCli = tls ? ['--tls', '--cacert', tls.caFile] : [];
      await run(
        'redis-cli',
        [...tlsCli, '--cluster', 'create', ...cluster.clientAddresses(), '--cluster-replicas', '1'],
        {
          timeout: 20_000,
          env: {
            ...process.env,
            REDISCLI_CLUSTER_YES: '1',
            ...(password === undefined ? {} : { REDISCLI_AUTH: password }),
          },
        },
      );
      await cluster.waitUntilHealthy(15_000);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** A `redis+cluster://` URL naming the first two nodes as seeds; the rest are discovered. */
  get url(): string {
    const credentials = this.password === undefined ? '' : `:${encodeURIComponent(this.password)}@`;
    const seeds = this.clientAddresses().slice(0, 2).join(',');
    return `redis+cluster://${credentials}${seeds}${this.tls ? '?tls=true' : ''}`;
  }

  /** Where clients reach each node: its TLS port with TLS, else its plain port. */
  private clientAddresses(): string[] {
    return this.servers.map((s) => `127.0.0.1:${this.tlsPorts.get(s.port) ?? s.port}`);
  }

  /** One command on one node. */
  async command(port: number, ...args: (string | number)[]): Promise<unknown> {
    return this.admin.command(port, ...args);
  }

  /** The cluster as one node sees it. */
  async nodes(viewFromPort?: number): Promise<ClusterNodeInfo[]> {
    const port = viewFromPort ?? this.aliveServers()[0]?.port ?? 0;
    const text = String(await this.command(port, 'CLUSTER', 'NODES'));
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const [id = '', address = '', flags = '', master = '-', , , , , ...slots] = line.split(' ');
        const announced = Number(/:(\d+)@/.exec(address)?.[1]);
        return {
          id,
          // Nodes announce their TLS port when the bus uses TLS; the harness speaks plain.
          port: [...this.tlsPorts].find(([, tlsPort]) => tlsPort === announced)?.[0] ?? announced,
          role: flags.includes('master') ? 'master' : 'replica',
          masterId: master === '-' ? undefined : master,
          failed: /fail/.test(flags),
          slots: slots
            .filter((range) => /^\d/.test(range))
            .map((range) => {
              const [first = 0, last = first] = range.split('-').map(Number);
              return [first, last];
            }),
        } satisfies ClusterNodeInfo;
      });
  }

  async masters(): Promise<ClusterNodeInfo[]> {
    return (await this.nodes()).filter((node) => node.role === 'master' && !node.failed);
  }

  /** Empty every master (replicas follow): nothing a previous test wrote is left. */
  async flushAll(): Promise<void> {
    await Promise.all((await this.masters()).map((master) => this.command(master.port, 'FLUSHALL')));
  }

  async slotOf(key: string): Promise<number> {
    return Number(await this.command(this.aliveServers()[0]?.port ?? 0, 'CLUSTER', 'KEYSLOT', key));
  }

  /** The master serving a slot. */
  async ownerOf(slot: number): Promise<ClusterNodeInfo> {
    const owner = (await this.masters()).find((m) => m.slots.some(([a, b]) => slot >= a && slot <= b));
    if (!owner) throw new Error(`no master serves slot ${slot}`);
    return owner;
  }

  /**
   * Until every live node says cluster_state:ok, every replica is in sync, and all live nodes see
   * the same three masters with the same slots and replicas (after a failover, a node that has not
   * heard of it yet still looks healthy on its own).
   */
  async waitUntilHealthy(timeoutMs: number): Promise<void> {
    await pollUntil(
      'cluster healthy',
      async () => {
        const views = new Set<string>();
        for (const server of this.aliveServers()) {
          const info = String(await this.command(server.port, 'CLUSTER', 'INFO'));
          if (!info.includes('cluster_state:ok')) return undefined;
          const replication = String(await this.command(server.port, 'INFO', 'replication'));
          if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) {
            return undefined;
          }
          views.add(topology(await this.nodes(server.port)));
        }
        const [view] = views;
        return views.size === 1 && view?.split('|').filter((n) => n.includes('serves')).length === 3
          ? true
          : undefined;
      },
      timeoutMs,
    );
  }

  /**
   * Hand a master's slots to its replica and wait until every live node is ok again; resolves with
   * the promoted replica's port. `kill`: SIGKILL the master (no goodbye to its peers: the replica
   * takes over after the node timeout, and writes it had not yet received are lost). `graceful`:
   * CLUSTER FAILOVER on the replica (the master hands over once the replica has caught up).
   */
  async failover(masterPort: number, how: 'kill' | 'graceful', timeoutMs = 15_000): Promise<number> {
    const nodes = await this.nodes();
    const master = nodes.find((n) => n.port === masterPort && n.role === 'master');
    const replica = nodes.find((n) => n.masterId === master?.id);
    if (!master || !replica) throw new Error(`port ${masterPort} is not a master with a replica`);
    if (how === 'kill') await this.server(masterPort).kill();
    else await this.command(replica.port, 'CLUSTER', 'FAILOVER');
    await pollUntil(
      'replica promoted',
      async () => {
        const role = String(await this.command(replica.port, 'ROLE'));
        return role.startsWith('master') ? true : undefined;
      },
      timeoutMs,
    );
    await this.waitUntilHealthy(timeoutMs);
    return replica.port;
  }

  /** Start a killed node again; it rejoins (from its nodes.conf) as a replica of whoever took over. */
  async restartNode(port: number): Promise<void> {
    await this.server(port).restart();
    await this.requirePassword(port);
  }

  /**
   * Turn the password on once the node is up (RedisServer's readiness probe is an unauthenticated
   * PING); replicas use it towards their masters too.
   */
  private async requirePassword(port: number): Promise<void> {
    if (this.password === undefined) return;
    const open = new AdminConnections();
    try {
      await open.command(port, 'CONFIG', 'SET', 'masterauth', this.password, 'requirepass', this.password);
    } finally {
      open.close();
    }
  }

  /**
   * Move one slot to another master by the resharding protocol (IMPORTING/MIGRATING, MIGRATE in
   * batches, SETSLOT NODE), holding each phase for `holdMs` so traffic meets ASK and then MOVED.
   */
  async migrateSlot(slot: number, targetPort: number, holdMs = 200): Promise<void> {
    const source = await this.ownerOf(slot);
    const target = (await this.masters()).find((m) => m.port === targetPort);
    if (!target || target.id === source.id) throw new Error(`port ${targetPort} is not another master`);
    await this.command(target.port, 'CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id);
    await this.command(source.port, 'CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id);
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    for (;;) {
      const keys = (await this.command(source.port, 'CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
      if (keys.length === 0) break;
      const auth = this.password === undefined ? [] : ['AUTH', this.password];
      await this.command(
        source.port,
        'MIGRATE',
        '127.0.0.1',
        target.port,
        '',
        0,
        5000,
        ...auth,
        'KEYS',
        ...keys,
      );
    }
    // Keys now live on the target while the source still owns the slot: every call is ASKed over.
    await new Promise((resolve) => setTimeout(resolve, holdMs));
    for (const master of [target, source, ...(await this.masters())]) {
      await this.command(master.port, 'CLUSTER', 'SETSLOT', slot, 'NODE', target.id);
    }
  }

  server(port: number): RedisServer {
    const server = this.servers.find((s) => s.port === port);
    if (!server) throw new Error(`no node on port ${port}`);
    return server;
  }

  private aliveServers(): RedisServer[] {
    return this.servers.filter((s) => s.pid !== undefined);
  }

  /** Stop every node by PID and drop the admin connections. */
  async stop(): Promise<void> {
    this.admin.close();
    await Promise.all(this.servers.map((server) => server.stop()));
  }
}

/**
 * Node settings: the cluster bus on its own free port (port + 10000 may be taken or past 65535),
 * a short node timeout so failover takes seconds, replicas that sync at once (diskless, no delay),
 * and partial coverage so one failed master leaves the other two serving (as docs/redis-cluster.md
 * recommends for a rate limiter).
 */
async function clusterNodeArgs(nodeTimeoutMs: number): Promise<string[]> {
  return [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-port',
    String(await freePort()),
    '--cluster-node-timeout',
    String(nodeTimeoutMs),
    '--cluster-require-full-coverage',
    'no',
    '--repl-diskless-sync',
    'yes',
    '--repl-diskless-sync-delay',
    '0',
  ];
}

/** The live topology as one node sees it, comparable across nodes. */
function topology(nodes: readonly ClusterNodeInfo[]): string {
  return nodes
    .filter((n) => !n.failed)
    .map((n) =>
      n.role === 'master'
        ? `${n.id} serves ${JSON.stringify(n.slots)}`
        : `${n.id} replicates ${n.masterId ?? '?'}`,
    )
    .filter((line) => !line.endsWith('serves []'))
    .sort()
    .join('|');
}
