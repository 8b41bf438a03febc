import type { NodeEntry, NodeInfo, NodeRegistry } from './node-registry.js';

interface Registration {
  node: NodeInfo;
  lastHeartbeatMs: number;
  ttlMs: number;
}

/** The registry of a node on the memory store: nothing is shared, so it only knows itself. */
export class MemoryNodeRegistry implements NodeRegistry {
  private readonly registrations = new Map<string, Registration>();

  constructor(private readonly now: () => number = Date.now) {}

  announce(node: NodeInfo, ttlMs: number): Promise<void> {
    this.registrations.set(node.id, { node, lastHeartbeatMs: this.now(), ttlMs });
    return Promise.resolve();
  }

  remove(id: string): Promise<void> {
    this.registrations.delete(id);
    return Promise.resolve();
  }

  list(): Promise<NodeEntry[]> {
    const now = this.now();
    const live: NodeEntry[] = [];
    for (const [id, { node, lastHeartbeatMs, ttlMs }] of this.registrations) {
      if (lastHeartbeatMs + ttlMs <= now) {
        this.registrations.delete(id);
        continue;
      }
      live.push({ ...node, lastHeartbeatAt: new Date(lastHeartbeatMs).toISOString() });
    }
    return Promise.resolve(live);
  }

  close(): Promise<void> {
    this.registrations.clear();
    return Promise.resolve();
  }
}
