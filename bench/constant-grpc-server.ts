/**
 * The floor of gRPC ShouldRateLimit on grpc-js: a server with the service's own settings and
 * static codec that answers every call with one constant response, without reading the request.
 * What the service costs above this is decoding, the rules, the limiter and encoding.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { sendUnaryData } from '@grpc/grpc-js';
import { rateLimitServiceDefinition } from '../src/grpc/protos.js';
import { encodeRateLimitResponse } from '../src/grpc/rls-codec.js';
import { MAX_GRPC_MESSAGE_BYTES } from '../src/grpc/server.js';
import type { RateLimitResponse } from '../src/envoy/types.js';

const RESPONSE: RateLimitResponse = {
  overallCode: 'OK',
  statuses: [
    {
      code: 'OK',
      currentLimit: { requestsPerUnit: 1_000_000, unit: 'minute' },
      limitRemaining: 999_999,
      durationUntilResetMs: 30_000,
    },
  ],
  responseHeadersToAdd: [],
  policies: [],
  degraded: false,
};
const BYTES = encodeRateLimitResponse(RESPONSE);

const server = new Server({
  'grpc.max_receive_message_length': MAX_GRPC_MESSAGE_BYTES,
  'grpc.max_send_message_length': 4 * MAX_GRPC_MESSAGE_BYTES,
  'grpc.enable_channelz': 0,
});
server.addService(
  rateLimitServiceDefinition(() => BYTES),
  {
    ShouldRateLimit(_call: unknown, callback: sendUnaryData<RateLimitResponse>) {
      callback(null, RESPONSE);
    },
  },
);
const port = await new Promise<number>((resolve, reject) => {
  server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => {
    if (error) reject(error);
    else resolve(bound);
  });
});
process.stdout.write(`constant gRPC server listening at 127.0.0.1:${port}\n`);
process.once('SIGTERM', () => {
  server.forceShutdown();
  process.exit(0);
});
