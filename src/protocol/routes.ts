/** Every path of the HTTP API, for the routes that serve them and the clients that call them. */
export const ROUTES = {
  check: '/v1/check',
  checks: '/v1/checks',
  refund: '/v1/refund',
  /** Leases (concurrency limits): acquire; then, by lease id, release (DELETE) and renew. */
  leases: '/v1/leases',
  lease: '/v1/leases/:leaseId',
  leaseRenewal: '/v1/leases/:leaseId/renew',
  /** Fastify's pattern; clients build the path with counterPath(). */
  counter: '/v1/counters/:key',
  nodes: '/v1/nodes',
  quotas: '/v1/quotas',
  /** The operator console: its page, the deployment merged, and one node's own figures. */
  consolePage: '/console',
  consoleSnapshot: '/v1/console/snapshot',
  consoleNode: '/v1/console/node',
  ratelimit: '/v1/ratelimit',
  forwardAuth: '/v1/forward-auth',
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
  openapi: '/openapi.json',
  docs: '/docs',
} as const;

/** Liveness, readiness and metrics stay answerable on a busy node (never shed as overloaded). */
export const OPERATIONS_PROBES: ReadonlySet<string> = new Set([
  ROUTES.healthz,
  ROUTES.readyz,
  ROUTES.metrics,
]);

/** The path of one counter: the key percent-encoded as one path segment. */
export function counterPath(key: string): string {
  return `/v1/counters/${encodeURIComponent(key)}`;
}

/** The path of one lease (release it with DELETE and `?key=`); ids are base64url, encoded anyway. */
export function leasePath(leaseId: string): string {
  return `/v1/leases/${encodeURIComponent(leaseId)}`;
}

export function leaseRenewalPath(leaseId: string): string {
  return `${leasePath(leaseId)}/renew`;
}
