import type { IncomingMessage, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { ThrottledWarning } from '../logging/throttled-warning.js';
import { ConnectionTable } from './connection-table.js';
import { TOO_MANY_HEADERS, answerUnknownExpectation, clientErrorHandler } from './client-errors.js';
import { MAX_HEADER_COUNT } from '../protocol/limits.js';
import type { ParserRefusal } from './client-errors.js';

/** Bounds on what one client connection may hold; all settings (docs/configuration.md). */
export interface HttpServerLimits {
  /** Whole request (headers and body) must arrive within this. */
  requestTimeoutMs: number;
  /** Headers must arrive within this, counted from the connection's start or its previous reply. */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /**
   * Connections held at once; past it the oldest idle one is closed to admit a new one, and when
   * none is idle the new one is closed at once (both counted).
   */
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpServerLimits = {
  requestTimeoutMs: 10_000,
  headersTimeoutMs: 5_000,
  keepAliveTimeoutMs: 72_000,
  maxConnections: 10_000,
};

/** Why the HTTP layer turned a client away: a metric label, from a fixed set. */
export type HttpRefusal = ParserRefusal['kind'] | 'connection_limit';

export interface ServerGuardHooks {
  /** Counted for every refusal (ratelimiter_http_refusals_total). */
  onRefusal: (kind: HttpRefusal) => void;
  /** Counted for every idle connection closed at the bound (ratelimiter_http_idle_connections_closed_total). */
  onIdleClosed: () => void;
}

const WARNING_INTERVAL_MS = 10_000;

/**
 * Node enforces the headers and request timeouts on each check of its connection list (every
 * 30 s by default): check often enough that a timeout means about what it says.
 */
function connectionsCheckingInterval(limits: HttpServerLimits): number {
  return Math.max(
    50,
    Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 2)),
  );
}

/** The limits as Node server options, and the `clientError` handler that answers in our shape. */
export interface LimitedServerOptions {
  http: ServerOptions;
  clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => void;
  /** Counts and logs (throttled) a request refused for its header count (TOO_MANY_HEADERS). */
  noteTooManyHeaders: () => void;
}

/** The server options for the limits; `log` is the app's logger once the app exists. */
export function serverOptions(
  limits: HttpServerLimits,
  hooks: ServerGuardHooks,
  log: () => FastifyBaseLogger | undefined,
): LimitedServerOptions {
  // Timeouts and oversized headers are limits an operator wants to see; malformed requests are not.
  const warning = new ThrottledWarning<ParserRefusal>(WARNING_INTERVAL_MS, (refusal, suppressed) => {
    log()?.warn({ refusal: refusal.kind, suppressed }, `http: ${refusal.body.error.message}`);
  });
  return {
    http: {
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingInterval(limits),
      // A missing Host is refused by a hook, in our error shape (Node would answer an empty 400).
      requireHostHeader: false,
    },
    clientErrorHandler: clientErrorHandler(limits.requestTimeoutMs, (refusal) => {
      hooks.onRefusal(refusal.kind);
      if (refusal.kind === 'bad_request') log()?.debug({ refusal: refusal.kind }, refusal.body.error.message);
      else warning.note(refusal);
    }),
    noteTooManyHeaders: () => {
      hooks.onRefusal(TOO_MANY_HEADERS.kind);
      warning.note(TOO_MANY_HEADERS);
    },
  };
}

/**
 * What the Node server needs beyond its options: the connection bound (with a log line when it is
 * hit), our answer to an unknown `Expect`, and a graceful close that does not wait for clients
 * still sending a request. `inFlight` gives the responses under way (the app tracks them). A
 * missing Host is answered by the app's server, before Fastify (see app.ts).
 */
export function guardServer(
  app: FastifyInstance,
  limits: HttpServerLimits,
  hooks: ServerGuardHooks,
  inFlight: () => Iterable<ServerResponse>,
): void {
  const { server } = app;
  // Node's default, made explicit: the refusal in app.ts compares against the same bound.
  server.maxHeadersCount = MAX_HEADER_COUNT;
  const atBound = (what: string) =>
    new ThrottledWarning<number>(WARNING_INTERVAL_MS, (_, suppressed) => {
      app.log.warn(
        { maxConnections: limits.maxConnections, suppressed },
        `http: connection limit reached (RATELIMITER_MAX_CONNECTIONS); ${what}`,
      );
    });
  const idleClosed = atBound('closing the oldest idle connections to admit new ones');
  const refused = atBound('every connection is busy: new connections are closed');
  const connections = new ConnectionTable(server, limits.maxConnections, {
    onIdleClosed: () => {
      hooks.onIdleClosed();
      idleClosed.note(1);
    },
    onRefused: () => {
      hooks.onRefusal('connection_limit');
      refused.note(1);
    },
  });
  server.on('checkExpectation', answerUnknownExpectation);
  closeSlowClientsOnClose(app, inFlight, connections.sockets);
}

/**
 * On close, Node waits for every connection with a request under way, and Fastify closes only the
 * idle ones: a client trickling its headers or body would hold the shutdown until its timeout.
 * Such a request has no handler running yet, so drop its connection; one whose request was fully
 * received is being answered, and its reply goes out (with `Connection: close`). Connections are
 * tracked as they open; which request each one is on is read at close, from the responses in
 * flight, so a request costs nothing here.
 */
function closeSlowClientsOnClose(
  app: FastifyInstance,
  inFlight: () => Iterable<ServerResponse>,
  connections: ReadonlySet<Socket>,
): void {
  app.addHook('preClose', () => {
    const requestOf = new Map<Socket, IncomingMessage>();
    for (const response of inFlight()) requestOf.set(response.req.socket, response.req);
    for (const socket of [...connections]) {
      const request = requestOf.get(socket);
      if (request === undefined || !request.complete) socket.destroy();
    }
    return Promise.resolve();
  });
}
