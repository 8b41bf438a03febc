import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/**
 * A bearer token check. Both sides are hashed first so the comparison takes the same time
 * whatever the presented token's length, and timingSafeEqual never sees unequal lengths.
 */
export class BearerToken {
  private readonly expectedDigest: Buffer;

  constructor(token: string) {
    this.expectedDigest = digest(token);
  }

  matches(presented: string): boolean {
    return timingSafeEqual(digest(presented), this.expectedDigest);
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export type RequestGuard = (request: FastifyRequest) => Promise<void>;

function requireToken(token: BearerToken, role: string): RequestGuard {
  return (request) => {
    const presented = presentedToken(request);
    if (presented === undefined) {
      throw new HttpError(
        401,
        'unauthorized',
        `this route needs "Authorization: Bearer <${role} token>"`,
        'authorization',
      );
    }
    if (!token.matches(presented)) {
      throw new HttpError(401, 'unauthorized', `the ${role} token is not valid`, 'authorization');
    }
    return Promise.resolve();
  };
}

/**
 * The onRequest hooks of decision routes: the API token's guard when one is configured, none
 * otherwise (an open route then runs no hook at all on its hot path).
 */
export function apiGuard(apiToken: string | undefined): RequestGuard[] {
  return apiToken === undefined ? [] : [requireToken(new BearerToken(apiToken), 'API')];
}

const adminDisabled: RequestGuard = () =>
  Promise.reject(
    new HttpError(
      403,
      'admin_disabled',
      'admin routes are disabled: start the service with RATELIMITER_ADMIN_TOKEN (or --admin-token) to enable them',
      'authorization',
    ),
  );

/** Guards admin routes; with no admin token configured they are disabled, not open. */
export function adminGuard(adminToken: string | undefined): RequestGuard {
  if (adminToken === undefined) return adminDisabled;
  return requireToken(new BearerToken(adminToken), 'admin');
}

/**
 * An admin surface that asks for the token itself (the console's page and its files): refused as
 * the admin routes are when no admin token is configured, served without a token otherwise.
 */
export function adminEnabledGuard(adminToken: string | undefined): RequestGuard {
  return adminToken === undefined ? adminDisabled : () => Promise.resolve();
}
