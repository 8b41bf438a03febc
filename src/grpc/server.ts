import { Metadata, Server, status } from '@grpc/grpc-js';
import type {
  ServerDuplexStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceError,
  UntypedServiceImplementation,
  sendUnaryData,
} from '@grpc/grpc-js';
import { InvalidArgumentError, OverloadedError, RateLimiterError } from '../core/errors.js';
import type { RateLimitService } from '../envoy/rate-limit-service.js';
import type { RateLimitRequest, RateLimitResponse } from '../envoy/types.js';
import { loadHealthService, rateLimitServiceDefinition } from './protos.js';
import type { QuotaService } from '../envoy/quota-service.js';
import { quotaServiceDefinition, serveQuotaStream } from './rlqs-stream.js';
import type { BucketAction } from '../envoy/quota-service.js';
import { decodeRateLimitRequest, encodeRateLimitResponse } from './rls-codec.js';
import { DEFAULT_GRPC_LIMITS, grpcLimitOptions, listenBounded } from './server-limits.js';
import type { GrpcServerLimits } from './server-limits.js';

/** The largest request accepted, as on HTTP: Envoy's requests are a few hundred bytes. */
export const MAX_GRPC_MESSAGE_BYTES = 64 * 1024;

/** The names a health check may ask about; "" is the whole server. */
export const HEALTH_SERVICES = ['', 'envoy.service.ratelimit.v3.RateLimitService'];

const WATCH_INTERVAL_MS = 1000;

export interface GrpcLogger {
  info(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface GrpcServerOptions {
  host: string;
  port: number;
  service: RateLimitService;
  /** SERVING only while this resolves true (the store answers, the rules are loaded). */
  healthy: () => Promise<boolean>;
  logger: GrpcLogger;
  /** Envoy's Rate Limit Quota Service (RLQS) on the same port, when given. */
  quotas?: QuotaService;
  limits?: GrpcServerLimits;
  /** A connection was closed at once: RATELIMITER_GRPC_MAX_CONNECTIONS are open, all of them spoke. */
  onConnectionRefused?: () => void;
  /** A connection that never sent a byte was closed at the bound to admit a new one. */
  onSilentConnectionClosed?: () => void;
}

export interface RunningGrpcServer {
  port: number;
  /** Refuse new calls, let in-flight ones finish (at most `timeoutMs`), then close. */
  stop(timeoutMs: number): Promise<void>;
}

/** A failure as a gRPC status, mapped once: bad input, store down, shedding load, or our bug. */
export function toServiceError(error: unknown): Partial<ServiceError> {
  if (error instanceof RateLimiterError) {
    if (error.code === 'invalid_argument') return { code: status.INVALID_ARGUMENT, details: error.message };
    // Shedding load (`overloaded`) and a store outage in fail-closed mode: both are worth a retry,
    // so UNAVAILABLE (gRPC's "try again"), not RESOURCE_EXHAUSTED (a quota the caller used up).
    const metadata = new Metadata();
    if (error instanceof OverloadedError)
      metadata.set('retry-after-ms', String(Math.ceil(error.retryAfterMs)));
    return { code: status.UNAVAILABLE, details: `${error.code}: ${error.message}`, metadata };
  }
  return { code: status.INTERNAL, details: 'internal error' };
}

/** Envoy's RateLimitService and grpc.health.v1.Health, on one port. */
export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const health = loadHealthService();
  const limits = options.limits ?? DEFAULT_GRPC_LIMITS;
  const server = new Server({
    'grpc.max_receive_message_length': MAX_GRPC_MESSAGE_BYTES,
    'grpc.max_send_message_length': 4 * MAX_GRPC_MESSAGE_BYTES,
    'grpc.enable_channelz': 0,
    ...grpcLimitOptions(limits),
  });
  let stopping = false;
  const watchers = new Set<ServerWritableStream<{ service?: string }, { status: string }>>();

  const fail = (callback: sendUnaryData<RateLimitResponse>, error: unknown) => {
    const mapped = toServiceError(error);
    if (mapped.code === status.INTERNAL) options.logger.error({ err: error }, 'ShouldRateLimit failed');
    callback(mapped);
  };
  const rateLimit: UntypedServiceImplementation = {
    ShouldRateLimit(
      call: ServerUnaryCall<Buffer, RateLimitResponse>,
      callback: sendUnaryData<RateLimitResponse>,
    ) {
      let answer: RateLimitResponse | Promise<RateLimitResponse>;
      try {
        answer = options.service.shouldRateLimitNow(decodeRequest(call.request));
      } catch (error) {
        fail(callback, error);
        return;
      }
      // Decided in this process (the memory store): answered now, no promise in between.
      if (!(answer instanceof Promise)) {
        callback(null, answer);
        return;
      }
      answer.then(
        (response) => {
          callback(null, response);
        },
        (error: unknown) => {
          fail(callback, error);
        },
      );
    },
  };

  const servingStatus = async (): Promise<string> => {
    if (stopping) return 'NOT_SERVING';
    return (await options.healthy().catch(() => false)) ? 'SERVING' : 'NOT_SERVING';
  };
  const healthService: UntypedServiceImplementation = {
    Check(
      call: ServerUnaryCall<{ service?: string }, { status: string }>,
      callback: sendUnaryData<{ status: string }>,
    ) {
      if (!HEALTH_SERVICES.includes(call.request.service ?? '')) {
        callback({ code: status.NOT_FOUND, details: 'unknown service' });
        return;
      }
      void servingStatus().then((serving) => {
        callback(null, { status: serving });
      });
    },
    Watch(call: ServerWritableStream<{ service?: string }, { status: string }>) {
      if (!HEALTH_SERVICES.includes(call.request.service ?? '')) {
        call.write({ status: 'SERVICE_UNKNOWN' });
      }
      watchers.add(call);
      let last: string | undefined;
      const tell = async () => {
        const serving = await servingStatus();
        if (serving !== last && !call.cancelled) call.write({ status: serving });
        last = serving;
      };
      void tell();
      const timer = setInterval(() => void tell(), WATCH_INTERVAL_MS);
      call.on('cancelled', () => {
        clearInterval(timer);
        watchers.delete(call);
      });
      call.on('close', () => {
        clearInterval(timer);
        watchers.delete(call);
      });
    },
  };

  server.addService(rateLimitServiceDefinition(encodeRateLimitResponse), rateLimit);
  const quotaStreams = new Set<() => void>();
  const quotas = options.quotas;
  if (quotas) {
    server.addService(quotaServiceDefinition(), {
      StreamRateLimitQuotas(call: ServerDuplexStream<Buffer, BucketAction[]>) {
        serveQuotaStream(call, quotas, quotaStreams, options.logger);
      },
    });
  }
  server.addService(health.service, healthService);
  const listener = await listenBounded(
    server,
    { host: options.host, port: options.port },
    limits.maxConnections,
    {
      onRefused: () => options.onConnectionRefused?.(),
      onSilentClosed: () => options.onSilentConnectionClosed?.(),
    },
  );
  const port = listener.port;
  options.logger.info({ grpcPort: port }, `gRPC listening at ${bracketed(options.host)}:${port}`);

  let stopped: Promise<void> | undefined;
  const stop = (timeoutMs: number) => {
    stopped ??= new Promise<void>((resolve) => {
      stopping = true;
      listener.close();
      // A health watch never ends by itself: end them, or the drain would wait for them forever.
      for (const watcher of watchers) {
        watcher.write({ status: 'NOT_SERVING' });
        watcher.end();
      }
      // Nor does an RLQS stream: end each, giving its shares back (its proxy reconnects elsewhere).
      for (const end of quotaStreams) end();
      const deadline = setTimeout(() => {
        server.forceShutdown();
        listener.destroyAll();
        resolve();
      }, timeoutMs);
      deadline.unref();
      server.tryShutdown(() => {
        clearTimeout(deadline);
        resolve();
      });
    });
    return stopped;
  };
  return { port, stop };
}

/** The request's bytes decoded; bytes that are not a RateLimitRequest at all are the caller's error. */
function decodeRequest(bytes: Buffer): RateLimitRequest {
  try {
    return decodeRateLimitRequest(bytes);
  } catch (error) {
    if (error instanceof RateLimiterError) throw error;
    throw new InvalidArgumentError('request', 'the request is not a valid RateLimitRequest message');
  }
}

function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
