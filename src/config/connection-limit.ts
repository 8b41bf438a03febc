import { readFileSync } from 'node:fs';

/** Descriptors kept for Redis connections, logs and files beside the HTTP connections. */
const RESERVED_DESCRIPTORS = 128;
const MAX_CONNECTIONS_WITHOUT_LIMIT = 10_000;

const MIN_CONNECTIONS = 16;
/** gRPC's share of the budget: Envoy holds a few connections per proxy (one per worker thread). */
const GRPC_SHARE = 1 / 8;

/**
 * The open-file limit less a reserve (Linux: /proc/self/limits; elsewhere 10,000), shared by the
 * HTTP and gRPC listeners, so that client connections can never exhaust the descriptors Redis
 * reconnects and logs need.
 */
function connectionBudget(limits: string | undefined): number {
  const soft = /^Max open files\s+(\d+)/m.exec(limits ?? '')?.[1];
  if (soft === undefined) return MAX_CONNECTIONS_WITHOUT_LIMIT;
  return Math.max(
    MIN_CONNECTIONS,
    Math.min(MAX_CONNECTIONS_WITHOUT_LIMIT, Number(soft) - RESERVED_DESCRIPTORS),
  );
}

/** The gRPC listener's part of the budget. */
export function defaultGrpcMaxConnections(limits = readProcLimits()): number {
  return Math.max(MIN_CONNECTIONS, Math.floor(connectionBudget(limits) * GRPC_SHARE));
}

/** The HTTP listener's part: the budget less gRPC's. */
export function defaultMaxConnections(limits = readProcLimits()): number {
  return Math.max(MIN_CONNECTIONS, connectionBudget(limits) - defaultGrpcMaxConnections(limits));
}

function readProcLimits(): string | undefined {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}
