import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { parseAcquire, parseRelease, parseRenew } from '../../core/leases.js';
import type { Limiter } from '../../limiter.js';
import { toWireLeaseDecision, toWireRelease, toWireRenew } from '../../protocol/leases.js';
import { ROUTES } from '../../protocol/routes.js';
import type { RequestGuard } from '../auth.js';
import { setLeaseHeaders } from '../ratelimit-headers.js';
import {
  AcquireBody,
  LeaseDecision,
  LeaseParams,
  ReleaseQuery,
  ReleaseReply,
  RenewBody,
  RenewReply,
  withErrors,
} from '../schemas.js';

export interface LeaseRoutesOptions {
  limiter: Limiter;
  /** The decision routes' guard: a lease is its holder's, released with the same token it was taken with. */
  requireApiToken: RequestGuard[];
}

/** What a lease route may answer besides 200, as the decision routes. */
const LEASE_ERRORS = [400, 401, 413, 415, 503] as const;

/** Concurrency limits over HTTP: acquire, release and renew leases (issue 16). */
export const leaseRoutes: FastifyPluginAsyncTypebox<LeaseRoutesOptions> = (app, options) => {
  const { limiter, requireApiToken } = options;

  app.post(
    ROUTES.leases,
    {
      onRequest: requireApiToken,
      schema: {
        summary: 'Hold units of a concurrency limit for up to `ttl`, if the live leases leave room',
        description:
          "Admitted iff the units held by the key's live leases plus `cost` fit `limit`; a denied acquire holds " +
          'nothing. Being full is a 200 with `allowed: false` and `retryAfterMs` (until the earliest live lease ' +
          'expires). Release the lease when done; a holder that dies frees its units at the lease expiry.',
        tags: ['leases'],
        body: AcquireBody,
        response: withErrors({ 200: LeaseDecision }, LEASE_ERRORS),
      },
    },
    async (request, reply) => {
      const decision = toWireLeaseDecision(await limiter.acquireLease(parseAcquire(request.body)));
      setLeaseHeaders(reply, decision);
      return decision;
    },
  );

  app.post(
    ROUTES.leaseRenewal,
    {
      onRequest: requireApiToken,
      schema: {
        summary: 'Extend a live lease to `ttl` from now',
        description:
          'An expired, released or unknown lease, or one of another key, is not revived: `renewed: false`.',
        tags: ['leases'],
        params: LeaseParams,
        body: RenewBody,
        response: withErrors({ 200: RenewReply }, LEASE_ERRORS),
      },
    },
    async (request) => {
      const renewal = parseRenew({ ...request.body, leaseId: request.params.leaseId });
      return toWireRenew(await limiter.renewLease(renewal));
    },
  );

  app.delete(
    ROUTES.lease,
    {
      onRequest: requireApiToken,
      schema: {
        summary: 'Free a lease (its holder, not admin)',
        description:
          'Idempotent: an unknown, expired or already released lease, or one of another key, answers ' +
          '`released: false` and frees nothing. `key` is required.',
        tags: ['leases'],
        params: LeaseParams,
        querystring: ReleaseQuery,
        response: withErrors({ 200: ReleaseReply }, [400, 401, 503]),
      },
    },
    async (request) => {
      const ref = parseRelease({ key: request.query.key, leaseId: request.params.leaseId });
      return toWireRelease(await limiter.releaseLease(ref));
    },
  );

  return Promise.resolve();
};
