import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionTableHooks {
  /** An idle connection was closed to admit a new one. */
  onIdleClosed: () => void;
  /** A new connection was closed at once: the bound is reached and every connection is busy. */
  onRefused: () => void;
}

/** A request is under way on the socket: Node attaches its response as soon as the headers are read. */
function busy(socket: Socket): boolean {
  return (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage != null;
}

/**
 * The server's open connections, in the order they were last found in use, and the bound on them.
 * At the bound, a new connection is admitted by closing the oldest idle one (a keep-alive
 * connection between requests, or one that has not sent a whole request yet), as nginx does with
 * keep-alive connections under pressure: otherwise idle clients would hold every slot and each
 * new client would be reset. Only when every connection has a request under way is the new one
 * closed. Nothing is done per request: idleness is read from the socket at the bound only.
 */
export class ConnectionTable {
  private readonly open = new Set<Socket>();

  constructor(
    server: Server,
    private readonly maxConnections: number,
    private readonly hooks: ConnectionTableHooks,
  ) {
    // Node's own bound (server.maxConnections) would drop the newcomer before we see it.
    server.on('connection', (socket: Socket) => {
      this.admit(socket);
    });
  }

  get sockets(): ReadonlySet<Socket> {
    return this.open;
  }

  private admit(socket: Socket): void {
    if (this.open.size >= this.maxConnections) {
      const idle = this.oldestIdle();
      if (idle === undefined) {
        socket.destroy();
        this.hooks.onRefused();
        return;
      }
      this.open.delete(idle);
      idle.destroy();
      this.hooks.onIdleClosed();
    }
    this.open.add(socket);
    socket.once('close', () => this.open.delete(socket));
  }

  /** The oldest idle connection; busy ones met on the way go to the back (they are in use). */
  private oldestIdle(): Socket | undefined {
    const inUse: Socket[] = [];
    let found: Socket | undefined;
    for (const socket of this.open) {
      if (!busy(socket) && !socket.destroyed) {
        found = socket;
        break;
      }
      inUse.push(socket);
    }
    for (const socket of inUse) {
      this.open.delete(socket);
      this.open.add(socket);
    }
    return found;
  }
}
