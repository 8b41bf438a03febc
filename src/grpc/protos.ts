import type { GrpcObject, ServiceClientConstructor } from '@grpc/grpc-js';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { Options } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

/** The repo's `.proto` files (Envoy's published ones, trimmed): the same path from src/ and dist/. */
export const PROTO_DIR = fileURLToPath(new URL('../../proto', import.meta.url));

export const RLS_PROTO = 'envoy/service/ratelimit/v3/rls.proto';
export const HEALTH_PROTO = 'grpc/health/v1/health.proto';

/**
 * Field names as in the `.proto` (snake_case), enums as their names, 64-bit integers as text (a
 * uint64 hits_addend may exceed 2^53), and no defaults filled in, so that presence stays visible:
 * a descriptor's `hits_addend` of 0 means "check only", an absent one "use the request's".
 */
export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/** The RateLimitService and Health definitions, loaded once per process from the `.proto` files. */
export function loadProtos(): {
  rateLimitService: ServiceClientConstructor;
  health: ServiceClientConstructor;
} {
  const definition = loadPackageDefinition(loadSync([RLS_PROTO, HEALTH_PROTO], LOADER_OPTIONS));
  return {
    rateLimitService: lookup(definition, 'envoy.service.ratelimit.v3.RateLimitService'),
    health: lookup(definition, 'grpc.health.v1.Health'),
  };
}

function lookup(root: GrpcObject, name: string): ServiceClientConstructor {
  let node: unknown = root;
  for (const part of name.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new Error(`${name} is not in the loaded protos`);
  return node as ServiceClientConstructor;
}
