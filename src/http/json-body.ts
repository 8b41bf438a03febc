import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

/** Keys that would reach an object's prototype if a later merge copied them. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function invalidBody(message: string, field = 'body'): HttpError {
  return new HttpError(400, 'invalid_argument', message, field);
}

/** `checks[0].__proto__`: where a forbidden key sits, as a client would write the path. */
function forbiddenKeyPath(value: unknown, path: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = forbiddenKeyPath(item, `${path}[${index}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const key of Object.keys(value)) {
    const child = path === '' ? key : `${path}.${key}`;
    if (FORBIDDEN_KEYS.has(key)) return child;
    const found = forbiddenKeyPath((value as Record<string, unknown>)[key], child);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The JSON body as the routes see it, checked on its raw bytes first: invalid UTF-8 would be
 * decoded to U+FFFD, so `k\xE9` and `k\xE8` would silently share one counter. Syntax errors say
 * where, never what (the text may be a key), and prototype keys are refused by name.
 */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw invalidBody('body is empty: a JSON object is expected');
  if (!isUtf8(body)) {
    throw invalidBody('body is not valid UTF-8: keys and every other text must be UTF-8');
  }
  const text = body.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // V8's message quotes the text around the error; only its position is repeated.
    const position = error instanceof Error ? /at position (\d+)/.exec(error.message)?.[1] : undefined;
    throw invalidBody(`body is not valid JSON${position === undefined ? '' : ` (at character ${position})`}`);
  }
  // JSON.parse keeps "__proto__" as an own key; a scan of the text spares the walk almost always.
  if (/__proto__|constructor|prototype|\\u/.test(text)) {
    const path = forbiddenKeyPath(value, '');
    if (path !== undefined) {
      const key = path.slice(path.lastIndexOf('.') + 1);
      throw invalidBody(`the key "${key}" is refused: it could reach an object prototype`, path);
    }
  }
  return value;
}

/** Replace Fastify's JSON parser with parseJsonBody. */
export function useStrictJsonBodies(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer' },
    (_request: FastifyRequest, body: Buffer, done: (error: Error | null, value?: unknown) => void) => {
      try {
        done(null, parseJsonBody(body));
      } catch (error) {
        done(error instanceof Error ? error : new Error(String(error)));
      }
    },
  );
}
