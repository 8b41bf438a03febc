import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import type { Options as AjvOptions } from 'ajv';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Limiter } from '../limiter.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import type { NodeRegistry } from '../registry/node-registry.js';
import { DecisionReadiness, rulesLoadedCheck } from '../readiness.js';
import type { ReadinessProbe } from '../readiness.js';
import { adminEnabledGuard, adminGuard, apiGuard } from './auth.js';
import { handleError, handleNotFound } from './errors.js';
import { useStrictJsonBodies } from './json-body.js';
import { lazyRequestLogger } from './request-logger.js';
import { DEFAULT_HTTP_LIMITS, guardServer, serverOptions } from './server-limits.js';
import type { HttpRefusal, HttpServerLimits, LimitedServerOptions } from './server-limits.js';
import { TOO_MANY_HEADERS, reachesHeaderCount } from './client-errors.js';
import { errorBody } from '../protocol/errors.js';
import { BODY_LIMIT_BYTES } from '../protocol/limits.js';
import { OPERATIONS_PROBES, ROUTES } from '../protocol/routes.js';
import { decisionRoutes } from './routes/decisions.js';
import { envoyRoutes } from './routes/envoy.js';
import { leaseRoutes } from './routes/leases.js';
import type { EnvoyRoutesOptions } from './routes/envoy.js';
import { operationRoutes } from './routes/operations.js';
import { quotaRoutes } from './routes/quotas.js';
import type { QuotaRoutesOptions } from './routes/quotas.js';
import { consoleRoutes } from './routes/console.js';
import { consolePageRoutes } from './routes/console-page.js';
import { loadConsolePage } from './console-assets.js';
import type { FleetConsole } from '../console/fleet.js';
import type { NodeConsole } from '../console/node-report.js';

export { BODY_LIMIT_BYTES } from '../protocol/limits.js';

export interface AppDeps {
  /** The limiter every route decides with (the metered one in the service). */
  limiter: Limiter;
  /** Short name of the store, reported by /readyz. */
  storeKind: string;
  registry: NodeRegistry;
  metrics: ServiceMetrics;
  /** Enables the admin routes; without it they answer 403. */
  adminToken?: string | undefined;
  /** When set, decision routes need it as a bearer token. */
  apiToken?: string | undefined;
  version: string;
  /** Envoy's rate-limit API as JSON and forward-auth; absent, those routes are not served. */
  envoy?: Omit<EnvoyRoutesOptions, 'requireApiToken'> | undefined;
  /** RLQS state for GET /v1/quotas (admin); absent, the route is not served. */
  quotas?: Omit<QuotaRoutesOptions, 'requireAdminToken'> | undefined;
  /** Readiness besides the store: false while the rules given by the settings are not loaded. */
  rulesLoaded?: () => boolean;
  /** Most requests in flight on the listening server; past it a request answers 503 overloaded. */
  maxInFlight?: number;
  /** Fastify's logger option: false (default) for silence, or pino options. */
  logger?: FastifyServerOptions['logger'];
  /** A logger made before the app (the service's): used instead of `logger`. */
  loggerInstance?: FastifyBaseLogger;
  /** What `/readyz` runs. Default: the rules loaded, then a store ping through the limiter. */
  readiness?: ReadinessProbe;
  /** Timeouts and the connection bound of the Node server. Default DEFAULT_HTTP_LIMITS. */
  httpLimits?: HttpServerLimits;
  /** The operator console (`/console`, `/v1/console/*`); absent, those routes are not served. */
  console?: { node: NodeConsole; fleet: FleetConsole } | undefined;
}

const STRICT_BODY: AjvOptions = {
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: false,
  allErrors: false,
};
// Query strings and path parameters arrive as text: "100" must be able to mean the integer 100.
const COERCING_URL: AjvOptions = { ...STRICT_BODY, coerceTypes: true };

/**
 * Two Ajv instances: a JSON body is validated exactly as sent (a "100" is not a limit, an unknown
 * field is refused rather than silently dropped), while the URL's text is coerced to its types.
 */
function schemaValidators() {
  const body = new Ajv(STRICT_BODY);
  const url = new Ajv(COERCING_URL);
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? body : url).compile(schema);
}

const OVERLOADED_BODY = JSON.stringify(
  errorBody('overloaded', 'too many requests in flight on this node; retry shortly'),
);
const TOO_MANY_HEADERS_BODY = JSON.stringify(TOO_MANY_HEADERS.body);
const MISSING_HOST_BODY = JSON.stringify(
  errorBody('invalid_argument', 'an HTTP/1.1 request needs a Host header', 'host'),
);

/** An answer given before Fastify sees the request, in our error shape. */
function answerEarly(
  response: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string>,
): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  response.end(body);
}

/** Removes a finished response from the set in flight: one function for all, no closure per request. */
function leaveInFlight(this: ServerResponse & { [IN_FLIGHT]?: Set<ServerResponse> }): void {
  this[IN_FLIGHT]?.delete(this);
}
const IN_FLIGHT = Symbol('in flight');

function isOperationsProbe(url: string | undefined): boolean {
  const path = url?.split('?', 1)[0];
  return path !== undefined && OPERATIONS_PROBES.has(path);
}

/** The requests in flight on the listening server, and whether it is closing. */
class InFlight {
  readonly responses = new Set<ServerResponse>();
  closing = false;

  /**
   * From now on answer with `Connection: close`, the requests in flight included. close() only
   * drops the connections idle at the moment it is called; a keep-alive connection whose request
   * was in flight would otherwise hold the close open until the keep-alive timeout.
   */
  close(): void {
    this.closing = true;
    for (const response of this.responses) response.shouldKeepAlive = false;
  }
}

/**
 * The Node server, counting the requests in flight: past `maxInFlight` a request is answered 503
 * `overloaded` before Fastify sees it, so a flood queues nothing (and costs almost nothing).
 * 'close' fires however a response ends, finished or aborted. `options` carry the timeouts
 * (Fastify applies none of its own to a server it does not create).
 */
function boundedServer(maxInFlight: number, inFlight: InFlight, limited: LimitedServerOptions) {
  return (handler: (request: IncomingMessage, response: ServerResponse) => void) =>
    createServer(limited.http, (request, response) => {
      // Node kept only the first headers: refuse rather than decide on what the client left us.
      if (reachesHeaderCount(request)) {
        limited.noteTooManyHeaders();
        answerEarly(response, TOO_MANY_HEADERS.statusCode, TOO_MANY_HEADERS_BODY, { connection: 'close' });
        return;
      }
      const { responses } = inFlight;
      // Liveness, readiness and metrics stay answerable on a busy node: a probe that fails for
      // load would have the node restarted, or hide why it is slow.
      if (responses.size >= maxInFlight && !isOperationsProbe(request.url)) {
        answerEarly(response, 503, OVERLOADED_BODY, { 'retry-after': '1' });
        return;
      }
      // Here rather than in an onRequest hook, which every request would pay for.
      if (request.httpVersionMajor === 1 && request.httpVersionMinor >= 1 && !request.headers.host) {
        answerEarly(response, 400, MISSING_HOST_BODY, { connection: 'close' });
        return;
      }
      if (inFlight.closing) response.shouldKeepAlive = false;
      responses.add(response);
      (response as ServerResponse & { [IN_FLIGHT]?: Set<ServerResponse> })[IN_FLIGHT] = responses;
      response.on('close', leaveInFlight);
      handler(request, response);
    });
}

/** The HTTP API as a Fastify app, not listening: tests inject into it, main.ts listens. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const inFlight = new InFlight();
  const httpLimits = deps.httpLimits ?? DEFAULT_HTTP_LIMITS;
  const guardHooks = {
    onRefusal: (kind: HttpRefusal) => {
      deps.metrics.httpRefusals.inc({ kind });
    },
    onIdleClosed: () => {
      deps.metrics.httpIdleConnectionsClosed.inc();
    },
  };
  const logger: { current?: FastifyBaseLogger } = {};
  const limited = serverOptions(httpLimits, guardHooks, () => logger.current);
  const app = Fastify({
    serverFactory: boundedServer(deps.maxInFlight ?? 10_000, inFlight, limited),
    clientErrorHandler: limited.clientErrorHandler,
    ...(deps.loggerInstance ? { loggerInstance: deps.loggerInstance } : { logger: deps.logger ?? false }),
    bodyLimit: BODY_LIMIT_BYTES,
    // A decision service's access log would be as large as its traffic; failures are logged instead.
    logController: new LogController({ disableRequestLogging: true }),
    // Keys are up to 512 bytes, i.e. up to 1536 characters once percent-encoded in a path.
    routerOptions: { maxParamLength: 2048 },
    // No access log: a request's logger is made only if the request logs (it failed).
    childLoggerFactory: lazyRequestLogger,
    // A malformed or over-long URL is answered before routing: give it our error shape too.
    frameworkErrors: (error, request, reply) => {
      void handleError(error, request, reply);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  logger.current = app.log;
  app.addHook('preClose', (done) => {
    inFlight.close();
    done();
  });
  guardServer(app, httpLimits, guardHooks, () => inFlight.responses);
  useStrictJsonBodies(app);
  app.setValidatorCompiler(schemaValidators());
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  // Only JSON bodies: anything else is a 415, not a string the schema then refuses.
  app.removeContentTypeParser('text/plain');

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'ratelimiter-service',
        version: deps.version,
        description: 'Distributed rate limiting over HTTP. Being limited is a 200 with `allowed: false`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: ROUTES.docs });
  app.get(ROUTES.openapi, { schema: { hide: true } }, () => app.swagger());

  await app.register(decisionRoutes, {
    limiter: deps.limiter,
    requireApiToken: apiGuard(deps.apiToken),
    requireAdminToken: adminGuard(deps.adminToken),
  });
  await app.register(leaseRoutes, { limiter: deps.limiter, requireApiToken: apiGuard(deps.apiToken) });
  if (deps.envoy) {
    await app.register(envoyRoutes, { ...deps.envoy, requireApiToken: apiGuard(deps.apiToken) });
  }
  if (deps.quotas) {
    await app.register(quotaRoutes, { ...deps.quotas, requireAdminToken: adminGuard(deps.adminToken) });
  }
  if (deps.console) {
    await app.register(consoleRoutes, { ...deps.console, requireAdminToken: adminGuard(deps.adminToken) });
    await app.register(consolePageRoutes, {
      page: loadConsolePage(ROUTES.consolePage),
      requireAdminEnabled: adminEnabledGuard(deps.adminToken),
    });
  }
  await app.register(operationRoutes, {
    limiter: deps.limiter,
    storeKind: deps.storeKind,
    registry: deps.registry,
    metrics: deps.metrics,
    readiness:
      deps.readiness ??
      new DecisionReadiness([
        rulesLoadedCheck(deps.rulesLoaded ?? (() => true)),
        { name: 'store', run: () => deps.limiter.ping() },
      ]),
  });
  return app;
}
