/*
 * The bounds of our HTTP contract, in one place: the service enforces them and every client of
 * the service (ServiceStore, the CLI) stays inside them.
 */
export { MAX_KEY_BYTES, MAX_UNITS } from '../core/validate.js';
/** Leases: most units held at once per key, and the shortest and longest ttl. */
export { MAX_LEASE_LIMIT, MAX_TTL_MS, MIN_TTL_MS } from '../core/leases.js';

/** Most checks in one `POST /v1/checks`. */
export const MAX_BATCH_CHECKS = 100;

/** Largest request body the service accepts (a batch of 100 checks with long keys fits). */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** What a client puts in one batch body at most: under BODY_LIMIT_BYTES with room for the envelope. */
export const MAX_BATCH_BODY_BYTES = 60_000;

/**
 * Most header lines (fields) in one request: Node keeps this many and drops the rest without a
 * word, so a request that reaches it is refused (431) rather than decided on a truncated set.
 */
export const MAX_HEADER_COUNT = 2000;
