import { redactUrlCredentials } from '../../logging/redact.js';

/** A node address, as written in a Redis URL. */
export interface HostPort {
  host: string;
  port: number;
}

/** Credentials and transport shared by every Redis URL form. */
interface Connection {
  username?: string;
  password?: string;
  tls: boolean;
}

/** What a Redis URL asks for, validated: one node, a Cluster (seed nodes) or Sentinel. */
export type RedisTarget =
  | (Connection & { kind: 'single'; node: HostPort; db: number })
  | (Connection & { kind: 'cluster'; seeds: HostPort[] })
  | (Connection & {
      kind: 'sentinel';
      sentinels: HostPort[];
      masterName: string;
      db: number;
      sentinelPassword?: string;
    });

/** A Redis URL that cannot be used. The message names what is wrong and never holds a password. */
export class RedisUrlError extends RangeError {
  constructor(reason: string) {
    super(`invalid Redis URL: ${reason}`);
    this.name = 'RedisUrlError';
  }
}

const SCHEMES: Record<string, { kind: RedisTarget['kind']; tls: boolean; defaultPort: number }> = {
  redis: { kind: 'single', tls: false, defaultPort: 6379 },
  rediss: { kind: 'single', tls: true, defaultPort: 6379 },
  'redis+cluster': { kind: 'cluster', tls: false, defaultPort: 6379 },
  'redis+sentinel': { kind: 'sentinel', tls: false, defaultPort: 26379 },
};

/** Query parameters each form accepts; anything else is refused rather than silently ignored. */
const QUERY_PARAMETERS: Record<RedisTarget['kind'], readonly string[]> = {
  single: [],
  cluster: ['tls'],
  sentinel: ['tls', 'db', 'sentinelPassword'],
};

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;
const MASTER_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * Parse and validate a Redis URL:
 * `redis://[user:pass@]host:port[/db]`, `rediss://...` (TLS),
 * `redis+cluster://[user:pass@]h1:p1,h2:p2[?tls=true]`,
 * `redis+sentinel://[user:pass@]h1:p1,h2:p2/<masterName>[?sentinelPassword=..&db=..&tls=true]`.
 * The user and password are those of the data nodes; Sentinel's own password is `sentinelPassword`.
 */
export function parseRedisUrl(url: string): RedisTarget {
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(url);
  if (!schemeMatch) throw new RedisUrlError('expected <scheme>://[user:password@]host:port[...]');
  const [, rawScheme = '', rest = ''] = schemeMatch;
  const scheme = rawScheme.toLowerCase();
  const form = SCHEMES[scheme];
  if (!form) {
    throw new RedisUrlError(
      `unsupported scheme "${scheme}" (expected one of ${Object.keys(SCHEMES).join(', ')})`,
    );
  }
  // The credentials end at the last "@", so a password holding "@", "/" or "?" unencoded still
  // parses, and nothing echoed in an error below can be part of it.
  const at = rest.lastIndexOf('@');
  const credentials = at === -1 ? {} : parseUserInfo(rest.slice(0, at));
  const located = /^([^/?#]*)([^?#]*)(?:\?([^#]*))?$/.exec(rest.slice(at + 1));
  if (!located) throw new RedisUrlError('a Redis URL takes no fragment ("#...")');
  const [, hostList = '', path = '', query = ''] = located;
  const nodes = parseHosts(hostList, form.defaultPort, at === -1);
  const params = parseQuery(query, QUERY_PARAMETERS[form.kind]);
  const tls = form.tls || parseBoolean(params.get('tls'), 'tls');
  const connection = { ...credentials, tls };

  switch (form.kind) {
    case 'single': {
      const [node] = nodes;
      if (!node || nodes.length > 1) throw new RedisUrlError(`${scheme}:// takes exactly one host`);
      return { kind: 'single', node, db: parseDb(path.replace(/^\//, ''), 'path'), ...connection };
    }
    case 'cluster':
      if (path !== '' && path !== '/') {
        throw new RedisUrlError('redis+cluster:// takes no path: a cluster has only database 0');
      }
      return { kind: 'cluster', seeds: nodes, ...connection };
    case 'sentinel': {
      const masterName = decodePart(path.replace(/^\//, ''), 'master name');
      if (masterName === '') {
        throw new RedisUrlError('redis+sentinel:// needs the master name as its path: .../<masterName>');
      }
      if (!MASTER_NAME.test(masterName)) {
        throw new RedisUrlError(`master name "${masterName}" may hold only letters, digits, ".", "_", "-"`);
      }
      const sentinelPassword = params.get('sentinelPassword');
      return {
        kind: 'sentinel',
        sentinels: nodes,
        masterName,
        db: parseDb(params.get('db') ?? '', 'db parameter'),
        ...(sentinelPassword === null ? {} : { sentinelPassword }),
        ...connection,
      };
    }
  }
}

/** The URL with every secret replaced by `***`, for logs and error messages. */
export function redactRedisUrl(url: string): string {
  return redactUrlCredentials(url, '***').replace(/([?&]sentinelPassword=)[^&#]*/i, '$1***');
}

function parseUserInfo(userInfo: string): { username?: string; password?: string } {
  const colon = userInfo.indexOf(':');
  const username = decodePart(colon === -1 ? userInfo : userInfo.slice(0, colon), 'user name');
  const password = colon === -1 ? undefined : decodePart(userInfo.slice(colon + 1), 'password');
  return {
    ...(username === '' ? {} : { username }),
    ...(password === undefined || password === '' ? {} : { password }),
  };
}

/** Percent-decode one part of the URL; the error names the part, never its content (it may be a secret). */
function decodePart(encoded: string, part: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new RedisUrlError(`the ${part} has a malformed percent-encoding`);
  }
}

/**
 * The host list, validated. Errors say which host is wrong, never what it says: without an "@",
 * what looks like `host:port` may be `user:password` (`redis://default:secret`).
 */
function parseHosts(hostList: string, defaultPort: number, noCredentials: boolean): HostPort[] {
  if (hostList === '') throw new RedisUrlError('no host given');
  const entries = hostList.split(',');
  const hint = noCredentials
    ? ' (a password goes before the host, followed by "@": redis://[user]:password@host:port)'
    : '';
  return entries.map((entry, index) => {
    const which = entries.length === 1 ? 'the host' : `host ${index + 1} of ${entries.length}`;
    // "[v6]:port" keeps its colons inside the brackets; elsewhere the last colon starts the port.
    const bracketEnd = entry.indexOf(']:');
    const portSeparator = entry.startsWith('[')
      ? bracketEnd === -1
        ? -1
        : bracketEnd + 1
      : entry.lastIndexOf(':');
    const host = portSeparator === -1 ? entry : entry.slice(0, portSeparator);
    const portText = portSeparator === -1 ? undefined : entry.slice(portSeparator + 1);
    if (host === '') throw new RedisUrlError(`${which} is missing before its ":"${hint}`);
    if (!HOST_NAME.test(host) && !IPV6.test(host)) {
      throw new RedisUrlError(`${which} is not a host name, an IPv4 address or an [IPv6] address`);
    }
    return { host: host.replace(/^\[(.*)\]$/, '$1'), port: parsePort(portText, defaultPort, which, hint) };
  });
}

function parsePort(text: string | undefined, defaultPort: number, which: string, hint: string): number {
  if (text === undefined) return defaultPort;
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new RedisUrlError(`the port of ${which} is not an integer in 1..65535${hint}`);
  }
  return port;
}

function parseDb(text: string, where: string): number {
  if (text === '') return 0;
  if (!/^\d{1,5}$/.test(text)) {
    throw new RedisUrlError(`bad database in the ${where} (expected an integer >= 0)`);
  }
  return Number(text);
}

function parseQuery(query: string, allowed: readonly string[]): URLSearchParams {
  const params = new URLSearchParams(query);
  for (const name of new Set(params.keys())) {
    if (!allowed.includes(name)) {
      const accepted = allowed.length === 0 ? 'none' : allowed.join(', ');
      throw new RedisUrlError(`unknown query parameter "${name}" (accepted here: ${accepted})`);
    }
    if (params.getAll(name).length > 1) throw new RedisUrlError(`query parameter "${name}" given twice`);
  }
  return params;
}

function parseBoolean(text: string | null, name: string): boolean {
  if (text === null || text === 'false') return false;
  if (text === 'true') return true;
  throw new RedisUrlError(`query parameter "${name}" must be true or false`);
}
