import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { FleetConsole } from '../../console/fleet.js';
import type { NodeConsole } from '../../console/node-report.js';
import { ROUTES } from '../../protocol/routes.js';
import type { RequestGuard } from '../auth.js';
import { withErrors } from '../schemas.js';

export interface ConsoleRoutesOptions {
  node: NodeConsole;
  fleet: FleetConsole;
  requireAdminToken: RequestGuard;
}

// The console's JSON is described in src/protocol/console.ts; here only its errors are declared.
const SECURED = { tags: ['console'], security: [{ bearer: [] }] };

/**
 * The operator console's JSON, admin only (401 without the token or with a wrong one, 403
 * `admin_disabled` when none is set). Never cached: it is a live view, and it holds keys' hashes.
 */
export const consoleRoutes: FastifyPluginAsyncTypebox<ConsoleRoutesOptions> = (app, options) => {
  const { node, fleet, requireAdminToken } = options;
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  app.get(
    ROUTES.consoleSnapshot,
    {
      onRequest: requireAdminToken,
      schema: {
        ...SECURED,
        summary: 'The deployment as the console shows it: nodes, decisions, top limited keys, rules, store',
        response: withErrors(
          { 200: Type.Unknown({ description: 'WireConsoleSnapshot (src/protocol/console.ts).' }) },
          [401, 403],
        ),
      },
    },
    // The guard has checked the header: the peers are asked with the same token.
    async (request) => fleet.snapshot(request.headers.authorization ?? ''),
  );

  app.get(
    ROUTES.consoleNode,
    {
      onRequest: requireAdminToken,
      schema: {
        ...SECURED,
        summary: "This node's own console figures (what the node asked merges from its peers)",
        response: withErrors(
          { 200: Type.Unknown({ description: 'WireNodeReport (src/protocol/console.ts).' }) },
          [401, 403],
        ),
      },
    },
    () => node.report(),
  );

  return Promise.resolve();
};
