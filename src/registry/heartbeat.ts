import type { NodeInfo, NodeRegistry } from './node-registry.js';

export interface HeartbeatOptions {
  registry: NodeRegistry;
  node: NodeInfo;
  intervalMs: number;
  /** Called with every failed announce; a heartbeat failure is reported, never thrown. */
  onFailure: (error: unknown) => void;
  /** When given, the live nodes are counted after each announce (the `local` failure mode shares limits by it). */
  onLiveNodes?: (count: number) => void;
}

/** A node is listed for three heartbeats after its last one: one lost heartbeat does not drop it. */
export const HEARTBEATS_PER_TTL = 3;

/** Keeps one node registered: announces at start, then every interval, and removes it on stop. */
export class NodeHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private beating = false;

  constructor(private readonly options: HeartbeatOptions) {}

  get ttlMs(): number {
    return this.options.intervalMs * HEARTBEATS_PER_TTL;
  }

  /**
   * Announce now and then every interval. Nothing is awaited: a slow or unreachable registry must
   * not delay serving, nor the signal handlers a caller installs right after starting.
   */
  start(): void {
    void this.beat();
    this.timer = setInterval(() => {
      // Skip a beat rather than pile announces up behind a slow registry.
      if (!this.beating) void this.beat();
    }, this.options.intervalMs);
  }

  /** Announce once, now, and let the caller see a failure (readiness); the interval goes on as before. */
  announceNow(): Promise<void> {
    return this.options.registry.announce(this.options.node, this.ttlMs);
  }

  /** Stop announcing and deregister at once; a failure is reported and the node ages out instead. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
    try {
      await this.options.registry.remove(this.options.node.id);
    } catch (error) {
      this.options.onFailure(error);
    }
  }

  private beat(): Promise<void> {
    this.beating = true;
    const { registry, node, onLiveNodes } = this.options;
    this.inFlight = registry
      .announce(node, this.ttlMs)
      .then(async () => {
        if (onLiveNodes) onLiveNodes((await registry.list()).length);
      })
      .catch((error: unknown) => {
        this.options.onFailure(error);
      })
      .finally(() => {
        this.beating = false;
      });
    return this.inFlight;
  }
}
