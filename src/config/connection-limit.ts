import { readFileSync } from 'node:fs';

/** Descriptors kept for Redis connections, logs and files beside the HTTP connections. */
const RESERVED_DESCRIPTORS = 128;
const MAX_CONNECTIONS_WITHOUT_LIMIT = 10_000;

/**
 * The open-file limit less a reserve, so that HTTP connections alone can never exhaust the
 * descriptors Redis reconnects and logs need (Linux: /proc/self/limits; elsewhere 10,000).
 */
export function defaultMaxConnections(limits = readProcLimits()): number {
  const soft = /^Max open files\s+(\d+)/m.exec(limits ?? '')?.[1];
  if (soft === undefined) return MAX_CONNECTIONS_WITHOUT_LIMIT;
  return Math.max(16, Math.min(MAX_CONNECTIONS_WITHOUT_LIMIT, Number(soft) - RESERVED_DESCRIPTORS));
}

function readProcLimits(): string | undefined {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
}
