import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { ServerCredentials } from '@grpc/grpc-js';
import type { ChannelOptions, Server } from '@grpc/grpc-js';

/** Bounds on what gRPC clients may hold; all settings (docs/configuration.md). */
export interface GrpcServerLimits {
  /** Connections held at once; one more is closed at once (counted and logged). */
  maxConnections: number;
  /** Streams (calls) one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
  maxConcurrentStreams: number;
  /** A connection with no call open for this long is closed (GOAWAY); open streams keep it. */
  idleTimeoutMs: number;
  /**
   * A ping every this often; a connection whose ping is not answered within as long again is
   * closed. It finds dead peers, and a session Node's HTTP/2 stopped after a protocol error: it
   * sends GOAWAY, stops reading and never closes the socket itself.
   */
  keepaliveMs: number;
  /** Memory one HTTP/2 session may hold (Node's maxSessionMemory); past it new streams are refused. */
  maxSessionMemoryMb: number;
}

export const DEFAULT_GRPC_LIMITS: GrpcServerLimits = {
  maxConnections: 2_500,
  maxConcurrentStreams: 100,
  idleTimeoutMs: 300_000,
  keepaliveMs: 5_000,
  maxSessionMemoryMb: 10,
};

/** The limits grpc-js enforces itself, as its server options. */
export function grpcLimitOptions(limits: GrpcServerLimits): ChannelOptions {
  return {
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc.max_connection_idle_ms': limits.idleTimeoutMs,
    'grpc.keepalive_time_ms': limits.keepaliveMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveMs,
    // grpc-js leaves Node's bound off unless asked (its default is Number.MAX_SAFE_INTEGER).
    'grpc-node.max_session_memory': limits.maxSessionMemoryMb,
  };
}

export interface BoundedListener {
  port: number;
  /** Connections open now. */
  readonly connections: ReadonlySet<Socket>;
  /** Stop accepting; open connections are left to the gRPC server's shutdown. */
  close(): void;
  /** Close every open connection at once (the end of a shutdown that ran out of time). */
  destroyAll(): void;
}

export interface BoundHooks {
  /** A connection that never sent a byte was closed to admit a new one. */
  onSilentClosed: () => void;
  /** A new connection was closed at once: the bound is reached and every connection has spoken. */
  onRefused: () => void;
}

/**
 * grpc-js's own listener (bindAsync) takes every connection offered and exposes neither its
 * server nor a hook. This one counts them and hands each to grpc-js through its connection
 * injector, so silent clients cannot take the descriptors HTTP and Redis need. At the bound, the
 * oldest connection that never sent a byte (not even the HTTP/2 preface) is closed to admit the
 * new one, so silent sockets cannot lock gRPC clients out either until the idle timeout; only
 * when every connection has spoken is the new one closed. (Whether a session has calls open,
 * which would let idle ones go too, grpc-js keeps to itself.)
 */
export async function listenBounded(
  server: Server,
  address: { host: string; port: number },
  maxConnections: number,
  hooks: BoundHooks,
): Promise<BoundedListener> {
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const open = new Set<Socket>();
  const oldestSilent = (): Socket | undefined => {
    // Insertion order is age; bytesRead counts what the HTTP/2 session read from the socket too.
    for (const socket of open) if (socket.bytesRead === 0 && !socket.destroyed) return socket;
    return undefined;
  };
  const listener = createServer((socket) => {
    if (open.size >= maxConnections) {
      const silent = oldestSilent();
      if (silent === undefined) {
        socket.destroy();
        hooks.onRefused();
        return;
      }
      open.delete(silent);
      silent.destroy();
      hooks.onSilentClosed();
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    injector.injectConnection(socket);
  });
  const port = await new Promise<number>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(address.port, address.host, () => {
      listener.off('error', reject);
      const bound = listener.address();
      resolve(typeof bound === 'object' && bound ? bound.port : address.port);
    });
  });
  return {
    port,
    connections: open,
    close: () => listener.close(),
    destroyAll: () => {
      for (const socket of open) socket.destroy();
    },
  };
}
