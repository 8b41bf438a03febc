import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ROUTES } from '../../protocol/routes.js';
import { matchQuota } from '../../rules/quotas.js';
import type { RuleSet } from '../../rules/types.js';
import { parseQuotaKey } from '../../stores/quota-store.js';
import type { QuotaStore } from '../../stores/quota-store.js';
import type { RequestGuard } from '../auth.js';
import { withErrors } from '../schemas.js';

export interface QuotaRoutesOptions {
  store: QuotaStore;
  rules: () => RuleSet;
  requireAdminToken: RequestGuard;
}

/** Buckets listed at most, so one answer stays small whatever the proxies report. */
export const MAX_LISTED_BUCKETS = 1000;

const Proxy = Type.Object({
  stream: Type.String(),
  demandPerSecond: Type.Union([Type.Number(), Type.Null()]),
  want: Type.Integer(),
  tokensPerFill: Type.Integer(),
  maxTokens: Type.Integer(),
  expiresInMs: Type.Integer(),
});
const Bucket = Type.Object({
  domain: Type.String(),
  bucket: Type.Record(Type.String(), Type.String()),
  quota: Type.Union([Type.String(), Type.Null()]),
  requestsPerUnit: Type.Union([Type.Integer(), Type.Null()]),
  unitSeconds: Type.Union([Type.Integer(), Type.Null()]),
  assignedTokensPerFill: Type.Integer(),
  proxies: Type.Array(Proxy),
});
const QuotasReply = Type.Object({ buckets: Type.Array(Bucket) });

/** GET /v1/quotas (admin): each RLQS bucket with live proxies, its limit, demand and assignments. */
export const quotaRoutes: FastifyPluginAsyncTypebox<QuotaRoutesOptions> = (app, options) => {
  app.get(
    ROUTES.quotas,
    {
      onRequest: options.requireAdminToken,
      schema: {
        summary: 'RLQS buckets: limit, proxies, demand and assignments (admin)',
        tags: ['admin'],
        security: [{ bearer: [] }],
        response: withErrors({ 200: QuotasReply }, [401, 403, 503]),
      },
    },
    async () => {
      const listing = await options.store.holdings(MAX_LISTED_BUCKETS);
      const rules = options.rules();
      const buckets = [...listing].map(([quotaKey, holdings]) => {
        const { domain, bucket } = parseQuotaKey(quotaKey);
        const rule = matchQuota(rules.domains.get(domain)?.quotas ?? [], new Map(Object.entries(bucket)));
        return {
          domain,
          bucket,
          quota: rule?.name ?? null,
          requestsPerUnit: rule?.requestsPerUnit ?? null,
          unitSeconds: rule?.unitSeconds ?? null,
          assignedTokensPerFill: holdings.reduce((sum, { tokens }) => sum + tokens, 0),
          proxies: holdings.map((holding) => ({
            stream: holding.stream,
            demandPerSecond: holding.demandPerSecond ?? null,
            want: holding.want,
            tokensPerFill: holding.tokens,
            maxTokens: holding.burst,
            expiresInMs: Math.round(holding.expiresInMs),
          })),
        };
      });
      return { buckets };
    },
  );
  return Promise.resolve();
};
