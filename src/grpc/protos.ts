import type {
  GrpcObject,
  MethodDefinition,
  ServiceClientConstructor,
  ServiceDefinition,
} from '@grpc/grpc-js';
import type { RateLimitResponse } from '../envoy/types.js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { Options } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/** The repo's `.proto` files (Envoy's published ones, trimmed): the same path from src/ and dist/. */
export const PROTO_DIR = fileURLToPath(new URL('../../proto', import.meta.url));

export const HEALTH_PROTO = 'grpc/health/v1/health.proto';

/** Field names as in the `.proto` (snake_case), enums as their names, no defaults filled in. */
export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/**
 * grpc.health.v1.Health, loaded once per process from its `.proto` file. RateLimitService is not
 * loaded here: its messages have static code (rls-codec.ts, rateLimitServiceDefinition).
 */
export function loadHealthService(): ServiceClientConstructor {
  const definition = loadPackageDefinition(loadSync([HEALTH_PROTO], LOADER_OPTIONS));
  return lookup(definition, 'grpc.health.v1.Health');
}

/** Where RateLimitService's calls arrive: its path, and the static codec of rls-codec.ts. */
export const RATE_LIMIT_SERVICE_PATH = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';

/** Bytes in and out unchanged: the half of a definition a server never uses, or decoded later. */
function asBytes(value: Buffer): Buffer {
  return value;
}

/**
 * RateLimitService as grpc-js takes it. The request stays bytes until the handler decodes it, so
 * that a request it refuses (a string that is not UTF-8, a malformed message) is answered with
 * INVALID_ARGUMENT naming the field rather than grpc-js's generic deserialisation failure.
 */
export function rateLimitServiceDefinition(
  encodeResponse: (response: RateLimitResponse) => Buffer,
): ServiceDefinition<{ ShouldRateLimit: MethodDefinition<Buffer, RateLimitResponse> }> {
  return {
    ShouldRateLimit: {
      path: RATE_LIMIT_SERVICE_PATH,
      originalName: 'shouldRateLimit',
      requestStream: false,
      responseStream: false,
      requestSerialize: asBytes,
      requestDeserialize: asBytes,
      responseSerialize: encodeResponse,
      // A server never reads a response; this definition serves no client.
      responseDeserialize: () => {
        throw new Error("the RateLimitService definition is a server's only");
      },
    },
  };
}

function lookup(root: GrpcObject, name: string): ServiceClientConstructor {
  let node: unknown = root;
  for (const part of name.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new Error(`${name} is not in the loaded protos`);
  return node as ServiceClientConstructor;
}
