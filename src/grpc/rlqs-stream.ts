import { status } from '@grpc/grpc-js';
import type { MethodDefinition, ServerDuplexStream, ServiceDefinition, ServiceError } from '@grpc/grpc-js';
import { RateLimiterError } from '../core/errors.js';
import { QuotaLimitError } from '../envoy/quota-service.js';
import type { BucketAction, QuotaService, QuotaStream } from '../envoy/quota-service.js';
import { RLQS_STREAM_PATH, decodeUsageReports, encodeQuotaResponse } from './rlqs-codec.js';

/** Reports of one stream waiting for the previous one to be decided: more is a client flooding us. */
export const MAX_PENDING_REPORTS = 16;

interface Logger {
  error(object: object, message: string): void;
}

/** The RLQS service as grpc-js takes it: reports stay bytes until the handler decodes them. */
export function quotaServiceDefinition(): ServiceDefinition<{
  StreamRateLimitQuotas: MethodDefinition<Buffer, BucketAction[]>;
}> {
  return {
    StreamRateLimitQuotas: {
      path: RLQS_STREAM_PATH,
      originalName: 'streamRateLimitQuotas',
      requestStream: true,
      responseStream: true,
      requestSerialize: (value: Buffer) => value,
      requestDeserialize: (value: Buffer) => value,
      responseSerialize: encodeQuotaResponse,
      responseDeserialize: () => {
        throw new Error("the RLQS definition is a server's only");
      },
    },
  };
}

/** A failure of a stream as its gRPC status: bad input, too much of it, or our bug. */
export function quotaStatus(error: unknown): Partial<ServiceError> {
  if (error instanceof QuotaLimitError) return { code: status.RESOURCE_EXHAUSTED, details: error.message };
  if (error instanceof RateLimiterError && error.code === 'invalid_argument') {
    return { code: status.INVALID_ARGUMENT, details: error.message };
  }
  return { code: status.INTERNAL, details: 'internal error' };
}

/**
 * One proxy's stream: its reports decided one after another, each answered as soon as decided;
 * its shares given back the moment it ends, however it ends. `active` holds how to end it, for
 * the server's shutdown.
 */
export function serveQuotaStream(
  call: ServerDuplexStream<Buffer, BucketAction[]>,
  quotas: QuotaService,
  active: Set<() => void>,
  logger: Logger,
): void {
  let stream: QuotaStream;
  try {
    stream = quotas.open();
  } catch (error) {
    call.emit('error', quotaStatus(error));
    return;
  }
  let ended = false;
  // Read through a function: it changes while a report awaits the store.
  const isEnded = () => ended;
  let pending = 0;
  let unread = false;
  let chain = Promise.resolve();
  const finish = (failure?: Partial<ServiceError>) => {
    if (ended) return;
    ended = true;
    active.delete(end);
    void stream.close();
    if (failure) call.emit('error', failure);
    else if (!call.cancelled) call.end();
  };
  const end = () => {
    finish();
  };
  active.add(end);
  call.on('drain', () => {
    unread = false;
  });
  /** An answer to the proxy; a client that never reads would have us buffer without end: it loses the stream. */
  const send = (actions: BucketAction[]) => {
    if (unread) {
      finish({ code: status.RESOURCE_EXHAUSTED, details: 'the client does not read its answers' });
      return;
    }
    if (!call.write(actions)) unread = true;
  };
  stream.onPush = (actions) => {
    chain = chain.then(() => {
      if (!isEnded()) send(actions);
    });
  };
  call.on('data', (bytes: Buffer) => {
    if (isEnded()) return;
    if (++pending > MAX_PENDING_REPORTS) {
      finish({
        code: status.RESOURCE_EXHAUSTED,
        details: `more than ${MAX_PENDING_REPORTS} reports waiting`,
      });
      return;
    }
    chain = chain.then(async () => {
      try {
        if (isEnded()) return;
        const actions = await stream.receive(decodeUsageReports(bytes));
        if (isEnded() || actions.length === 0) return;
        send(actions);
      } catch (error) {
        const failure = quotaStatus(error);
        if (failure.code === status.INTERNAL) logger.error({ err: error }, 'StreamRateLimitQuotas failed');
        finish(failure);
      } finally {
        pending--;
      }
    });
  });
  call.on('end', () => {
    chain = chain.then(() => {
      finish();
    });
  });
  call.on('cancelled', () => {
    finish();
  });
  call.on('close', () => {
    finish();
  });
  call.on('error', () => {
    finish();
  });
}
