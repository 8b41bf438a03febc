import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Decision as DecisionValue } from '../../core/types.js';
import { parseCheck, parseChecks, parseCounter, parsePeek, parseRefund } from '../../core/validate.js';
import type { Limiter } from '../../limiter.js';
import { ROUTES } from '../../protocol/routes.js';
import type { RequestGuard } from '../auth.js';
import { setRateLimitHeaders } from '../ratelimit-headers.js';
import {
  CheckBody,
  ChecksBody,
  ChecksReply,
  CounterParams,
  Decision,
  PeekQuery,
  RefundBody,
  ResetQuery,
  windowFromQuery,
  withErrors,
} from '../schemas.js';

export interface DecisionRoutesOptions {
  limiter: Limiter;
  requireApiToken: RequestGuard[];
  requireAdminToken: RequestGuard;
}

/** Statuses a decision route may answer besides 200: bad input, auth, body limits, store down. */
const DECISION_ERRORS = [400, 401, 413, 415, 503] as const;

function withHeaders(reply: FastifyReply, decision: DecisionValue): DecisionValue {
  setRateLimitHeaders(reply, [decision]);
  return decision;
}

/** The routes that decide, look at and reset counters. */
export const decisionRoutes: FastifyPluginAsyncTypebox<DecisionRoutesOptions> = (app, options) => {
  const { limiter, requireApiToken, requireAdminToken } = options;

  app.post(
    ROUTES.check,
    {
      onRequest: requireApiToken,
      schema: {
        summary: 'Spend units of a counter if its limit allows',
        description: 'Being limited is a 200 with `allowed: false`, not an error.',
        tags: ['decisions'],
        body: CheckBody,
        response: withErrors({ 200: Decision }, DECISION_ERRORS),
      },
    },
    // Not async: on a store that decides in this process, the decision is a value and the reply
    // goes out without a promise or a turn of the microtask queue.
    (request, reply) => {
      const decided = limiter.decideNow(parseCheck(request.body));
      if (decided instanceof Promise) return decided.then((decision) => withHeaders(reply, decision));
      return withHeaders(reply, decided);
    },
  );

  app.post(
    ROUTES.refund,
    {
      onRequest: requireApiToken,
      schema: {
        summary: 'Give back units a request should not have spent',
        description:
          'Up to `cost` units (default 1; a cost above the limit gives back at most the limit) recorded in the ' +
          'current window, newest first, never below zero and never ' +
          'units that already left the window (a failed request, an unused reservation). Answers the decision a ' +
          'zero-cost check would then give. A store failure is a 503 whatever the failure mode: nothing is known ' +
          'to have been given back.',
        tags: ['decisions'],
        body: RefundBody,
        response: withErrors({ 200: Decision }, DECISION_ERRORS),
      },
    },
    async (request, reply) => {
      const decision = await limiter.refundCheck(parseRefund(request.body));
      setRateLimitHeaders(reply, [decision]);
      return decision;
    },
  );

  app.post(
    ROUTES.checks,
    {
      onRequest: requireApiToken,
      schema: {
        summary: 'Up to 100 checks in one call, independent or atomic',
        description:
          'Without `atomic`, each check is decided on its own, in order; an early denial does not stop later ones. ' +
          'With `atomic: true`, every check is admitted and recorded, or none is.',
        tags: ['decisions'],
        body: ChecksBody,
        response: withErrors({ 200: ChecksReply }, DECISION_ERRORS),
      },
    },
    async (request, reply) => {
      const checks = parseChecks(request.body.checks);
      const { allowed, results } =
        request.body.atomic === true
          ? await limiter.decideAll(checks)
          : await limiter.decideMany(checks).then((decisions) => ({
              allowed: decisions.every((decision) => decision.allowed),
              results: decisions,
            }));
      setRateLimitHeaders(reply, results);
      return { allowed, results };
    },
  );

  app.get(
    ROUTES.counter,
    {
      onRequest: requireApiToken,
      schema: {
        summary: 'The decision a zero-cost check would give; spends nothing',
        tags: ['decisions'],
        params: CounterParams,
        querystring: PeekQuery,
        response: withErrors({ 200: Decision }, DECISION_ERRORS),
      },
    },
    async (request, reply) => {
      const { limit, window, algorithm } = request.query;
      const peek = { key: request.params.key, limit: Number(limit), window: windowFromQuery(window) };
      const decision = await limiter.peekCheck(parsePeek({ ...peek, algorithm }));
      setRateLimitHeaders(reply, [decision]);
      return decision;
    },
  );

  app.delete(
    ROUTES.counter,
    {
      onRequest: requireAdminToken,
      schema: {
        summary: 'Forget a counter (admin)',
        tags: ['admin'],
        security: [{ bearer: [] }],
        params: CounterParams,
        querystring: ResetQuery,
        response: withErrors({ 204: { type: 'null', description: 'Reset.' } }, [400, 401, 403, 503]),
      },
    },
    async (request, reply) => {
      const { window, algorithm } = request.query;
      const counter = { key: request.params.key, window: windowFromQuery(window) };
      await limiter.resetCounter(parseCounter({ ...counter, algorithm }));
      return reply.code(204).send();
    },
  );

  return Promise.resolve();
};
