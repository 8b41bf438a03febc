import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { RateLimiterError, StoreUnavailableError } from '../../core/errors.js';
import type { Limiter } from '../../limiter.js';
import type { ServiceMetrics } from '../../metrics/metrics.js';
import type { NodeRegistry } from '../../registry/node-registry.js';
import { NotReadyError } from '../../readiness.js';
import type { ReadinessProbe } from '../../readiness.js';
import { HttpError } from '../errors.js';
import { NodesReply, StatusReply, withErrors } from '../schemas.js';

export interface OperationRoutesOptions {
  limiter: Limiter;
  storeKind: string;
  registry: NodeRegistry;
  metrics: ServiceMetrics;
  readiness: ReadinessProbe;
}

/** The routes operators and load balancers use: liveness, readiness, nodes, metrics. */
export const operationRoutes: FastifyPluginAsyncTypebox<OperationRoutesOptions> = (app, options) => {
  const { storeKind, registry, metrics, readiness } = options;

  app.get(
    '/healthz',
    {
      schema: {
        summary: 'The process is alive',
        tags: ['operations'],
        response: { 200: StatusReply },
      },
    },
    () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'A decision can be made and recorded; 503 with the reason otherwise',
        tags: ['operations'],
        response: withErrors({ 200: StatusReply }, [503]),
      },
    },
    async () => {
      const state = await readiness.probe();
      if (state.ready) return { status: 'ready', store: storeKind };
      const message = `not ready: ${state.check}: ${state.message}`;
      if (state.error instanceof StoreUnavailableError) {
        throw new StoreUnavailableError(message, { cause: state.error, reason: state.reason });
      }
      throw new HttpError(
        503,
        state.error instanceof NotReadyError ? state.error.code : 'not_ready',
        message,
      );
    },
  );

  app.get(
    '/v1/nodes',
    {
      schema: {
        summary: 'The live nodes of this deployment',
        tags: ['operations'],
        response: withErrors({ 200: NodesReply }, [503]),
      },
    },
    async () => {
      let nodes;
      try {
        nodes = await registry.list();
      } catch (error) {
        // The registry shares the store's backend: when it is unreachable, say so like any store call.
        throw error instanceof RateLimiterError ? error : storeUnavailable(error);
      }
      return { nodes };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        tags: ['operations'],
        response: { 200: Type.String({ description: 'Prometheus text exposition format.' }) },
      },
    },
    async (_request, reply) => {
      const text = await metrics.exposition();
      return reply.type(metrics.contentType).send(text);
    },
  );

  return Promise.resolve();
};

function storeUnavailable(cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new StoreUnavailableError(`the node registry is unreachable: ${reason}`, { cause });
}
