import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { BlockList } from 'node:net';
import { Type } from 'typebox';
import { InvalidArgumentError } from '../../core/errors.js';
import { rateLimitHeaders } from '../../protocol/headers.js';
import type { RateLimitService } from '../../envoy/rate-limit-service.js';
import type { RateLimitResponse } from '../../envoy/types.js';
import type { RequestGuard } from '../auth.js';
import { descriptorsOf, parseDescriptorSpec } from '../forward-auth.js';
import type { DescriptorSpec } from '../forward-auth.js';
import { requestFromJson, responseToJson } from '../protojson.js';
import { withErrors } from '../schemas.js';

export interface EnvoyRoutesOptions {
  service: RateLimitService;
  requireApiToken: RequestGuard[];
  /** How forward-auth builds descriptors when the query does not say. */
  forwardAuthDescriptors: DescriptorSpec;
  trustedProxies: BlockList;
}

const ERRORS = [400, 401, 413, 415, 503] as const;

/** A protojson body, described (it is parsed by src/http/protojson.ts, which also takes proto names). */
const RateLimitJson = Type.Object(
  {},
  {
    additionalProperties: true,
    description:
      "Envoy's RateLimitRequest / RateLimitResponse (envoy.service.ratelimit.v3) in protojson: " +
      '`{"domain": "...", "descriptors": [{"entries": [{"key": "...", "value": "..."}], "limit"?, "hitsAddend"?}], "hitsAddend"?}`.',
  },
);

const ForwardAuthQuery = Type.Object(
  {
    domain: Type.String({ minLength: 1, maxLength: 256, description: 'The rules-file domain to decide in.' }),
    descriptor: Type.Optional(
      Type.String({
        maxLength: 1024,
        description:
          'Descriptors to build, instead of RATELIMITER_FORWARD_AUTH_DESCRIPTORS: e.g. `remote_address;path,header:x-api-key`.',
      }),
    ),
  },
  { additionalProperties: false },
);

const ForwardAuthReply = Type.Object(
  { overallCode: Type.String() },
  { additionalProperties: false, description: 'The decision; the headers carry the limits.' },
);

/** As on every decision route: RateLimit-Policy / RateLimit / Retry-After, and what the setting adds. */
function sendHeaders(reply: FastifyReply, response: RateLimitResponse): void {
  for (const { key, value } of response.responseHeadersToAdd) reply.header(key, value);
  for (const [name, value] of rateLimitHeaders(response.policies)) reply.header(name, value);
}

/** Envoy's rate-limit API as JSON, and the same decisions for nginx / Traefik / Caddy forward-auth. */
export const envoyRoutes: FastifyPluginAsyncTypebox<EnvoyRoutesOptions> = async (app, options) => {
  const { service, requireApiToken } = options;

  app.post(
    '/v1/ratelimit',
    {
      onRequest: requireApiToken,
      schema: {
        summary: "Envoy's ShouldRateLimit as JSON, decided by the rules file",
        description:
          'The request and response of `envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit` in protojson ' +
          "(like the reference service's `/json`): 200 when `overallCode` is OK, 429 when OVER_LIMIT.",
        tags: ['envoy'],
        body: RateLimitJson,
        response: withErrors({ 200: RateLimitJson, 429: RateLimitJson }, ERRORS),
      },
    },
    async (request, reply) => {
      const response = await service.shouldRateLimit(requestFromJson(request.body));
      sendHeaders(reply, response);
      return reply.code(response.overallCode === 'OVER_LIMIT' ? 429 : 200).send(responseToJson(response));
    },
  );

  // Forward-auth subrequests may carry the original method and body: take any method, ignore bodies.
  await app.register((forwardAuth) => {
    forwardAuth.removeAllContentTypeParsers();
    forwardAuth.addContentTypeParser('*', (_request, _payload, done) => {
      done(null, undefined);
    });
    forwardAuth.withTypeProvider<TypeBoxTypeProvider>().route({
      method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      url: '/v1/forward-auth',
      onRequest: requireApiToken,
      schema: {
        summary: 'Forward-auth: 200 or 429 for the proxied request, with the rate-limit headers',
        description:
          'For nginx `auth_request`, Traefik ForwardAuth and Caddy `forward_auth`: descriptors are built from the ' +
          "request's headers (by default `remote_address` = the client address), then decided like `/v1/ratelimit`.",
        tags: ['envoy'],
        querystring: ForwardAuthQuery,
        response: withErrors({ 200: ForwardAuthReply, 429: ForwardAuthReply }, ERRORS),
      },
      handler: async (request, reply) => {
        let spec = options.forwardAuthDescriptors;
        if (request.query.descriptor !== undefined) {
          try {
            spec = parseDescriptorSpec(request.query.descriptor);
          } catch (error) {
            throw new InvalidArgumentError(
              'descriptor',
              error instanceof Error ? error.message : String(error),
            );
          }
        }
        const descriptors = descriptorsOf(
          { peer: request.socket.remoteAddress ?? '', method: request.method, headers: request.headers },
          spec,
          options.trustedProxies,
        );
        // Nothing to limit on (say, the header it keys on was not sent): allowed, as Envoy would.
        if (descriptors.length === 0) return reply.code(200).send({ overallCode: 'OK' });
        const response = await service.shouldRateLimit({ domain: request.query.domain, descriptors });
        sendHeaders(reply, response);
        return reply
          .code(response.overallCode === 'OVER_LIMIT' ? 429 : 200)
          .send({ overallCode: response.overallCode });
      },
    });
    return Promise.resolve();
  });
};
