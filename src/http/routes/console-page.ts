import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ROUTES } from '../../protocol/routes.js';
import type { RequestGuard } from '../auth.js';
import type { ConsolePage } from '../console-assets.js';
import { HttpError } from '../errors.js';

export interface ConsolePageRoutesOptions {
  page: ConsolePage;
  /** 403 admin_disabled when no admin token is configured; the page signs in with the token itself. */
  requireAdminEnabled: RequestGuard;
}

/**
 * Scripts and styles from this origin only, no inline script or style, no frame, no form posted
 * anywhere: the page shows key hashes and holds the admin token, so nothing injected may run.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const HARDENING = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** A versioned asset never changes: its URL changes with its content (src/http/console-assets.ts). */
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** `GET /console` (the operator console's page) and its versioned files, on every node. */
export const consolePageRoutes: FastifyPluginAsyncTypebox<ConsolePageRoutesOptions> = (app, options) => {
  const { page, requireAdminEnabled } = options;
  app.get(ROUTES.consolePage, { onRequest: requireAdminEnabled, schema: { hide: true } }, (_request, reply) =>
    reply
      .headers({ ...HARDENING, 'cache-control': 'no-store' })
      .type('text/html; charset=utf-8')
      .send(page.html),
  );

  app.get(
    `${ROUTES.consolePage}/assets/:version/:file`,
    {
      onRequest: requireAdminEnabled,
      schema: { hide: true, params: Type.Object({ version: Type.String(), file: Type.String() }) },
    },
    (request, reply) => {
      const { version, file } = request.params;
      const asset = page.assets.get(file);
      // Another release's page asks for its own version: a 404 rather than this release's script.
      if (version !== page.version || asset === undefined) {
        throw new HttpError(404, 'not_found', `no console asset ${file} in version ${version}`, 'url');
      }
      return reply
        .headers({ ...HARDENING, 'cache-control': IMMUTABLE })
        .type(asset.contentType)
        .send(asset.body);
    },
  );
  return Promise.resolve();
};
