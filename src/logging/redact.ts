/**
 * One redaction for everything the service logs: credentials in URLs and Redis command arguments
 * never reach a log line, whichever error path produced them.
 */

export const REDACTED = '[redacted]';

/** Never let a credential reach a log line, whatever a later serializer decides to include. */
export const REDACTED_LOG_PATHS = ['req.headers.authorization', 'headers.authorization'];

/**
 * Text with every URL's password and every `sentinelPassword=` value replaced, and the argument list
 * Redis echoes after an unknown command cut off (it holds keys).
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/\b[A-Za-z][A-Za-z0-9+.-]*:\/\/\S+/g, (url) => redactUrlCredentials(url, REDACTED))
    .replace(/(sentinelPassword=)[^&#\s]*/gi, `$1${REDACTED}`)
    .replace(/(with args beginning with:).*$/gim, `$1 ${REDACTED}`);
}

/**
 * One URL with its password replaced by `censor`: `scheme://user:password@host` keeps the user
 * (the last "@" ends the credentials, so an unencoded "@" in a password is covered). Without an
 * "@", an authority entry whose text after its colon is not a port (`redis://default:secret`, a
 * URL missing its host) is taken for a password too.
 */
export function redactUrlCredentials(url: string, censor: string): string {
  const [, scheme = '', rest = ''] = /^([^:]+:\/\/)(.*)$/s.exec(url) ?? [];
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    const colon = rest.indexOf(':');
    if (colon === -1 || colon > at) return url;
    return `${scheme}${rest.slice(0, colon + 1)}${censor}@${rest.slice(at + 1)}`;
  }
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const notAPort = authority.split(',').some((entry) => !entry.startsWith('[') && /:(?!\d*$)/.test(entry));
  return notAPort ? `${scheme}${censor}${authorityEnd === -1 ? '' : rest.slice(authorityEnd)}` : url;
}

/** Error fields worth logging; anything else an error carries (ioredis' `command.args`) is left out. */
const SCALAR_FIELDS = ['code', 'reason', 'field', 'errno', 'syscall', 'statusCode'] as const;
const MAX_CAUSE_DEPTH = 3;

export interface SerializedError {
  type: string;
  message: string;
  stack: string;
  command?: string;
  cause?: SerializedError;
  [field: string]: unknown;
}

/**
 * The `err` serializer of the service's logger: an allow-list of fields, the cause chain, the
 * failed command's name only (never its arguments: keys, an AUTH password), secrets redacted.
 */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) {
    return { type: typeof error, message: redactSecrets(String(error)), stack: '' };
  }
  const serialized: SerializedError = {
    type: error.constructor.name || error.name,
    message: redactSecrets(error.message),
    stack: redactSecrets(error.stack ?? ''),
  };
  const fields = error as unknown as Record<string, unknown>;
  for (const field of SCALAR_FIELDS) {
    const value = fields[field];
    if (typeof value === 'string') serialized[field] = redactSecrets(value);
    else if (typeof value === 'number') serialized[field] = value;
  }
  const command = fields.command as { name?: unknown } | undefined;
  if (typeof command?.name === 'string') serialized.command = command.name;
  if (error.cause instanceof Error && depth < MAX_CAUSE_DEPTH) {
    serialized.cause = serializeError(error.cause, depth + 1);
  }
  return serialized;
}
