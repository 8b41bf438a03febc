import type { BlockList } from 'node:net';
import { hostname } from 'node:os';
import { advertiseAddress } from './advertise.js';
import { defaultGrpcMaxConnections, defaultMaxConnections } from './connection-limit.js';
import { FAILURE_MODES } from '../failure-policy.js';
import type { FailureMode } from '../failure-policy.js';
import { defaultMaxBytes } from '../stores/memory/memory-store.js';
import type { WhenFull } from '../stores/memory/memory-store.js';
import { DEFAULT_KEY_PREFIX, validateKeyPrefix } from '../stores/redis/keys.js';
import { parseRedisUrl } from '../stores/redis/redis-url.js';
import {
  DEFAULT_DESCRIPTOR_SPEC,
  DEFAULT_TRUSTED_PROXIES,
  parseDescriptorSpec,
  parseTrustedProxies,
} from '../http/forward-auth.js';
import type { DescriptorSpec } from '../http/forward-auth.js';
import { RESPONSE_HEADER_MODES } from '../envoy/rate-limit-service.js';
import { CONSOLE_KEY_MODES } from '../protocol/console.js';
import type { ConsoleKeyMode } from '../protocol/console.js';
import type { ResponseHeaderMode } from '../envoy/rate-limit-service.js';

/** A setting that could not be accepted; `name` is how the operator wrote it (env var or flag). */
export class SettingError extends Error {
  constructor(
    readonly setting: string,
    reason: string,
  ) {
    super(`invalid setting ${setting}: ${reason}`);
    this.name = 'SettingError';
  }
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Everything `ratelimiter serve` needs, validated. */
export interface Settings {
  host: string;
  port: number;
  grpcPort: number;
  rulesPath: string | undefined;
  shadowMode: boolean;
  quotaMode: boolean;
  responseHeaders: ResponseHeaderMode;
  forwardAuthDescriptors: DescriptorSpec;
  trustedProxies: BlockList;
  redisUrl: string | undefined;
  failureMode: FailureMode;
  adminToken: string | undefined;
  apiToken: string | undefined;
  consoleKeys: ConsoleKeyMode;
  consoleKeySecret: string | undefined;
  keyPrefix: string;
  nodeId: string;
  logLevel: LogLevel;
  heartbeatMs: number;
  storeTimeoutMs: number;
  storeMaxBatch: number;
  /** Undefined: the store's default for its topology. */
  storeMaxInFlight: number | undefined;
  storeMaxQueued: number;
  storeQueueTimeoutMs: number;
  maxInFlight: number;
  denyCacheEntries: number;
  memoryMaxMb: number;
  memoryMaxCounters: number;
  memoryWhenFull: WhenFull;
  shutdownTimeoutMs: number;
  /** The host other nodes and clients reach this one at; undefined: derived from the bind host. */
  advertiseAddress: string | undefined;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  grpcMaxConnections: number;
  grpcMaxStreams: number;
  grpcIdleTimeoutMs: number;
  grpcKeepaliveMs: number;
  grpcSessionMemoryMb: number;
  /** RLQS: the blanket answer for a bucket no quota matches. */
  rlqsUnmatched: 'allow' | 'deny';
  /** RLQS: the longest assignment TTL handed out, in whole seconds. */
  rlqsMaxTtlS: number;
  rlqsMaxBucketsPerStream: number;
  rlqsMaxStreams: number;
}

/** One setting: its env var, its flag, its default and how its text becomes a value. */
export interface SettingSpec<Name extends keyof Settings = keyof Settings> {
  name: Name;
  env: string;
  /** Long flag with its argument placeholder, as commander declares it. */
  flag: string;
  description: string;
  /** As shown in help and docs; undefined means "not set". */
  defaultText?: string;
  parse(text: string | undefined): Settings[Name];
}

function integer(min: number, max: number) {
  return (text: string): number => {
    if (!/^\d+$/.test(text.trim())) throw new RangeError(`must be an integer ${min}..${max}, got "${text}"`);
    const value = Number(text);
    if (value < min || value > max) throw new RangeError(`must be an integer ${min}..${max}, got "${text}"`);
    return value;
  };
}

function optionalToken(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  // A short token is guessable whatever the comparison: refuse it rather than start insecure.
  if (text.length < 16) throw new RangeError('must be at least 16 characters');
  if (/\s/.test(text)) throw new RangeError('must not contain whitespace');
  return text;
}

/** Checked with the store's own parser, whose messages never echo a password. */
function redisUrl(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  parseRedisUrl(text);
  return text;
}

function oneOf<T extends string>(choices: readonly T[]) {
  return (text: string): T => {
    const choice = choices.find((candidate) => candidate === text);
    if (choice === undefined) throw new RangeError(`must be one of ${choices.join(', ')}, got "${text}"`);
    return choice;
  };
}

function nodeId(text: string | undefined): string {
  const id = text === undefined || text === '' ? `${hostname()}-${process.pid}` : text;
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(id)) {
    throw new RangeError('must be 1..128 characters of letters, digits, ".", "_", ":" or "-"');
  }
  return id;
}

function boolean(text: string): boolean {
  if (/^(true|1|yes|on)$/i.test(text)) return true;
  if (/^(false|0|no|off)$/i.test(text)) return false;
  throw new RangeError(`must be true or false, got "${text}"`);
}

function optionalPath(text: string | undefined): string | undefined {
  return text === undefined || text === '' ? undefined : text;
}

function withDefault<T>(fallback: string, parse: (text: string) => T) {
  return (text: string | undefined): T => parse(text === undefined || text === '' ? fallback : text);
}

/** Every setting of `ratelimiter serve`. docs/configuration.md lists the same table. */
export const SETTINGS: readonly SettingSpec[] = [
  {
    name: 'host',
    env: 'RATELIMITER_HOST',
    flag: '--host <address>',
    description: 'Address the HTTP server binds to.',
    defaultText: '127.0.0.1',
    parse: withDefault('127.0.0.1', (text) => text),
  },
  {
    name: 'port',
    env: 'RATELIMITER_PORT',
    flag: '--port <port>',
    description: 'HTTP port; 0 picks a free one (the "listening" log line says which).',
    defaultText: '8080',
    parse: withDefault('8080', integer(0, 65_535)),
  },
  {
    name: 'grpcPort',
    env: 'RATELIMITER_GRPC_PORT',
    flag: '--grpc-port <port>',
    description:
      "gRPC port (Envoy's RateLimitService and grpc.health.v1) on the HTTP host; 0 picks a free one.",
    defaultText: '8081',
    parse: withDefault('8081', integer(0, 65_535)),
  },
  {
    name: 'rulesPath',
    env: 'RATELIMITER_RULES',
    flag: '--rules <path>',
    description:
      "Rules file in the format of Envoy's reference rate-limit service, or a directory of them (one domain per file); reloaded on change.",
    parse: optionalPath,
  },
  {
    name: 'shadowMode',
    env: 'RATELIMITER_SHADOW_MODE',
    flag: '--shadow-mode <bool>',
    description:
      'Answer every over-limit rate-limit request OK (counted and logged), as the reference SHADOW_MODE.',
    defaultText: 'false',
    parse: withDefault('false', boolean),
  },
  {
    name: 'quotaMode',
    env: 'RATELIMITER_QUOTA_MODE',
    flag: '--quota-mode <bool>',
    description: 'Every rule in quota mode: a request is over limit only when all its quota descriptors are.',
    defaultText: 'false',
    parse: withDefault('false', boolean),
  },
  {
    name: 'responseHeaders',
    env: 'RATELIMITER_RESPONSE_HEADERS',
    flag: '--response-headers <mode>',
    description:
      'Rate-limit headers in gRPC and /v1/ratelimit answers (response_headers_to_add): off, draft (RateLimit-Policy, RateLimit) or reference (RateLimit-Limit, -Remaining, -Reset).',
    defaultText: 'off',
    parse: withDefault('off', oneOf(RESPONSE_HEADER_MODES)),
  },
  {
    name: 'forwardAuthDescriptors',
    env: 'RATELIMITER_FORWARD_AUTH_DESCRIPTORS',
    flag: '--forward-auth-descriptors <spec>',
    description:
      'Descriptors /v1/forward-auth builds: ";" between descriptors, "," between entries [key=]source, source one of remote_address, method, path, host, header:<name>.',
    defaultText: DEFAULT_DESCRIPTOR_SPEC,
    parse: withDefault(DEFAULT_DESCRIPTOR_SPEC, parseDescriptorSpec),
  },
  {
    name: 'trustedProxies',
    env: 'RATELIMITER_TRUSTED_PROXIES',
    flag: '--trusted-proxies <list>',
    description:
      'Addresses or CIDR ranges whose X-Forwarded-For / X-Real-IP name the client for forward-auth; others are the client themselves.',
    defaultText: DEFAULT_TRUSTED_PROXIES,
    parse: withDefault(DEFAULT_TRUSTED_PROXIES, parseTrustedProxies),
  },
  {
    name: 'redisUrl',
    env: 'REDIS_URL',
    flag: '--redis <url>',
    description:
      'Redis (redis://, rediss://, redis+cluster://, redis+sentinel://) to keep counters and the node registry in; the in-process memory store when unset.',
    parse: redisUrl,
  },
  {
    name: 'failureMode',
    env: 'RATELIMITER_FAILURE_MODE',
    flag: '--failure-mode <mode>',
    description:
      'When the store does not answer in time: closed (503), open (allow, degraded) or local (decide in process on limit / live nodes, degraded).',
    defaultText: 'open',
    parse: withDefault('open', oneOf(FAILURE_MODES)),
  },
  {
    name: 'adminToken',
    env: 'RATELIMITER_ADMIN_TOKEN',
    flag: '--admin-token <token>',
    description: 'Bearer token of the admin routes (at least 16 characters); they answer 403 when unset.',
    parse: optionalToken,
  },
  {
    name: 'apiToken',
    env: 'RATELIMITER_API_TOKEN',
    flag: '--api-token <token>',
    description: 'Bearer token the decision routes require (at least 16 characters); open when unset.',
    parse: optionalToken,
  },
  {
    name: 'consoleKeys',
    env: 'RATELIMITER_CONSOLE_KEYS',
    flag: '--console-keys <mode>',
    description:
      'How the operator console shows limited keys: hashed (a short HMAC, never the key) or plain (the keys themselves, which may be personal data).',
    defaultText: 'hashed',
    parse: withDefault('hashed', oneOf(CONSOLE_KEY_MODES)),
  },
  {
    name: 'consoleKeySecret',
    env: 'RATELIMITER_CONSOLE_KEY_SECRET',
    flag: '--console-key-secret <secret>',
    description:
      "Secret of the console's key hashes (at least 16 characters, the same on every node); default: derived from the admin token.",
    parse: optionalToken,
  },
  {
    name: 'keyPrefix',
    env: 'RATELIMITER_KEY_PREFIX',
    flag: '--key-prefix <prefix>',
    description: 'Prefix of every Redis key written (counters and node registry).',
    defaultText: DEFAULT_KEY_PREFIX,
    parse: withDefault(DEFAULT_KEY_PREFIX, validateKeyPrefix),
  },
  {
    name: 'nodeId',
    env: 'RATELIMITER_NODE_ID',
    flag: '--node-id <id>',
    description: 'This node in the registry; must be unique in a deployment.',
    defaultText: '<hostname>-<pid>',
    parse: nodeId,
  },
  {
    name: 'logLevel',
    env: 'RATELIMITER_LOG_LEVEL',
    flag: '--log-level <level>',
    description: `Log level: ${LOG_LEVELS.join(', ')}.`,
    defaultText: 'info',
    parse: withDefault('info', oneOf(LOG_LEVELS)),
  },
  {
    name: 'heartbeatMs',
    env: 'RATELIMITER_HEARTBEAT_MS',
    flag: '--heartbeat-ms <ms>',
    description: 'Node heartbeat interval; a node is dropped three intervals after its last heartbeat.',
    defaultText: '5000',
    parse: withDefault('5000', integer(50, 3_600_000)),
  },
  {
    name: 'storeTimeoutMs',
    env: 'RATELIMITER_STORE_TIMEOUT_MS',
    flag: '--store-timeout-ms <ms>',
    description: 'Bound on every Redis call, reconnect waits included.',
    defaultText: '50',
    parse: withDefault('50', integer(1, 60_000)),
  },
  {
    name: 'storeMaxBatch',
    env: 'RATELIMITER_STORE_MAX_BATCH',
    flag: '--store-max-batch <checks>',
    description: 'Most checks coalesced into one Redis script call (bounds how long one call holds Redis).',
    defaultText: '100',
    parse: withDefault('100', integer(1, 1000)),
  },
  {
    name: 'storeMaxInFlight',
    env: 'RATELIMITER_STORE_MAX_IN_FLIGHT',
    flag: '--store-max-in-flight <calls>',
    description:
      'Most Redis script calls awaiting their reply at once (64 on a Cluster when unset); further checks queue.',
    defaultText: '8',
    parse: (text) => (text === undefined || text === '' ? undefined : integer(1, 4096)(text)),
  },
  {
    name: 'storeMaxQueued',
    env: 'RATELIMITER_STORE_MAX_QUEUED',
    flag: '--store-max-queued <checks>',
    description: 'Most checks waiting for a Redis call; past it checks answer 503 overloaded.',
    defaultText: '50000',
    parse: withDefault('50000', integer(1, 10_000_000)),
  },
  {
    name: 'storeQueueTimeoutMs',
    env: 'RATELIMITER_STORE_QUEUE_TIMEOUT_MS',
    flag: '--store-queue-timeout-ms <ms>',
    description: 'Longest a check may wait for a Redis call before it answers 503 overloaded.',
    defaultText: '1000',
    parse: withDefault('1000', integer(1, 600_000)),
  },
  {
    name: 'maxInFlight',
    env: 'RATELIMITER_MAX_IN_FLIGHT',
    flag: '--max-in-flight <requests>',
    description: 'Most HTTP requests in flight; past it a request answers 503 overloaded at once.',
    defaultText: '10000',
    parse: withDefault('10000', integer(1, 1_000_000)),
  },
  {
    name: 'denyCacheEntries',
    env: 'RATELIMITER_DENY_CACHE',
    flag: '--deny-cache <entries>',
    description:
      'Denials remembered on this node and answered without Redis until they lapse (0 = off). Decisions and retry times stay exact; the count reported is that of the denial repeated.',
    defaultText: '0',
    parse: withDefault('0', integer(0, 10_000_000)),
  },
  {
    name: 'memoryMaxMb',
    env: 'RATELIMITER_MEMORY_MAX_MB',
    flag: '--memory-max-mb <mb>',
    description:
      'Memory store: most megabytes of counter state (as the heap holds it) before it makes room; default half the old generation (the V8 heap limit less 48 MB of young generation).',
    defaultText: 'half the old generation',
    parse: (text) =>
      text === undefined || text === ''
        ? Math.max(1, Math.floor(defaultMaxBytes() / 1024 / 1024))
        : integer(1, 1_048_576)(text),
  },
  {
    name: 'memoryMaxCounters',
    env: 'RATELIMITER_MEMORY_MAX_COUNTERS',
    flag: '--memory-max-counters <n>',
    description: 'Memory store: most counters kept at once.',
    defaultText: '10000000',
    parse: withDefault('10000000', integer(1, 1_000_000_000)),
  },
  {
    name: 'memoryWhenFull',
    env: 'RATELIMITER_MEMORY_WHEN_FULL',
    flag: '--memory-when-full <policy>',
    description:
      'Memory store, full: evict (drop the counters whose loss gives back least: expired, emptiest, least recently used) or refuse (503 overloaded for new counters rather than drop one that still counts).',
    defaultText: 'evict',
    parse: withDefault('evict', oneOf(['evict', 'refuse'] as const)),
  },
  {
    name: 'shutdownTimeoutMs',
    env: 'RATELIMITER_SHUTDOWN_TIMEOUT_MS',
    flag: '--shutdown-timeout-ms <ms>',
    description: 'On SIGTERM/SIGINT, how long in-flight requests may take before the process exits anyway.',
    defaultText: '10000',
    parse: withDefault('10000', integer(0, 600_000)),
  },
  {
    name: 'advertiseAddress',
    env: 'RATELIMITER_ADVERTISE_ADDRESS',
    flag: '--advertise-address <host>',
    description:
      'Host this node registers for peers and clients; default: the bind host, or an interface address when bound to all (0.0.0.0, ::).',
    parse: advertiseAddress,
  },
  {
    name: 'requestTimeoutMs',
    env: 'RATELIMITER_REQUEST_TIMEOUT_MS',
    flag: '--request-timeout-ms <ms>',
    description:
      'A request (headers and body) must arrive within this, else 408 and the connection is closed.',
    defaultText: '10000',
    parse: withDefault('10000', integer(100, 600_000)),
  },
  {
    name: 'headersTimeoutMs',
    env: 'RATELIMITER_HEADERS_TIMEOUT_MS',
    flag: '--headers-timeout-ms <ms>',
    description:
      'Request headers must arrive within this of the connection opening (or of the previous reply); at most the request timeout.',
    defaultText: '5000',
    parse: withDefault('5000', integer(100, 600_000)),
  },
  {
    name: 'keepAliveTimeoutMs',
    env: 'RATELIMITER_KEEP_ALIVE_TIMEOUT_MS',
    flag: '--keep-alive-timeout-ms <ms>',
    description:
      'An idle keep-alive connection is closed after this (keep it above your load balancer idle timeout).',
    defaultText: '72000',
    parse: withDefault('72000', integer(1, 600_000)),
  },
  {
    name: 'maxConnections',
    env: 'RATELIMITER_MAX_CONNECTIONS',
    flag: '--max-connections <n>',
    description: 'HTTP connections held at once; further ones are closed at once, logged and counted.',
    defaultText: '(open-file limit - 128) x 7/8, at most 8750',
    parse: (text) =>
      text === undefined || text === '' ? defaultMaxConnections() : integer(1, 1_000_000)(text),
  },
  {
    name: 'grpcMaxConnections',
    env: 'RATELIMITER_GRPC_MAX_CONNECTIONS',
    flag: '--grpc-max-connections <n>',
    description: 'gRPC connections held at once; further ones are closed at once, logged and counted.',
    defaultText: '(open-file limit - 128) / 8, at most 1250',
    parse: (text) =>
      text === undefined || text === '' ? defaultGrpcMaxConnections() : integer(1, 1_000_000)(text),
  },
  {
    name: 'grpcMaxStreams',
    env: 'RATELIMITER_GRPC_MAX_STREAMS',
    flag: '--grpc-max-streams <n>',
    description: 'gRPC calls one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS).',
    defaultText: '100',
    parse: withDefault('100', integer(1, 1_000_000)),
  },
  {
    name: 'grpcIdleTimeoutMs',
    env: 'RATELIMITER_GRPC_IDLE_TIMEOUT_MS',
    flag: '--grpc-idle-timeout-ms <ms>',
    description: 'A gRPC connection with no call open (an RLQS stream is one) for this long is closed.',
    defaultText: '300000',
    parse: withDefault('300000', integer(100, 86_400_000)),
  },
  {
    name: 'grpcKeepaliveMs',
    env: 'RATELIMITER_GRPC_KEEPALIVE_MS',
    flag: '--grpc-keepalive-ms <ms>',
    description:
      'A ping on every gRPC connection this often; one that does not answer within as long again is closed.',
    defaultText: '5000',
    parse: withDefault('5000', integer(100, 3_600_000)),
  },
  {
    name: 'grpcSessionMemoryMb',
    env: 'RATELIMITER_GRPC_SESSION_MEMORY_MB',
    flag: '--grpc-session-memory-mb <mb>',
    description:
      'Memory one gRPC connection may hold (unsent replies included); past it its new calls are refused.',
    defaultText: '10',
    parse: withDefault('10', integer(1, 1024)),
  },
  {
    name: 'rlqsUnmatched',
    env: 'RATELIMITER_RLQS_UNMATCHED',
    flag: '--rlqs-unmatched <mode>',
    description:
      'RLQS: what a bucket no quota of the rules matches is assigned (a blanket rule, with a TTL).',
    defaultText: 'allow',
    parse: withDefault('allow', oneOf(['allow', 'deny'] as const)),
  },
  {
    name: 'rlqsMaxTtlS',
    env: 'RATELIMITER_RLQS_MAX_TTL',
    flag: '--rlqs-max-ttl <seconds>',
    description:
      "RLQS: the cap on an assignment's TTL (by default three learned report intervals): longer rides out a dead server, shorter frees a dead node's grants sooner.",
    defaultText: '30',
    parse: withDefault('30', integer(1, 3600)),
  },
  {
    name: 'rlqsMaxBucketsPerStream',
    env: 'RATELIMITER_RLQS_MAX_BUCKETS',
    flag: '--rlqs-max-buckets <n>',
    description: 'RLQS: buckets one stream may report; the next one ends the stream with RESOURCE_EXHAUSTED.',
    defaultText: '1000',
    parse: withDefault('1000', integer(1, 1_000_000)),
  },
  {
    name: 'rlqsMaxStreams',
    env: 'RATELIMITER_RLQS_MAX_STREAMS',
    flag: '--rlqs-max-streams <n>',
    description:
      'RLQS: streams this node holds at once; a stream past it is refused with RESOURCE_EXHAUSTED.',
    defaultText: '10000',
    parse: withDefault('10000', integer(1, 1_000_000)),
  },
];

/** The text of one setting and whether it came from the flag or the env var (for the error message). */
export interface RawSetting {
  text: string | undefined;
  from: 'flag' | 'env' | 'default';
}

/** A setting as the operator gave it: the env var, the flag, or both when it was left to its default. */
export function settingName(name: keyof Settings, from: RawSetting['from'] = 'default'): string {
  const spec = SETTINGS.find((candidate) => candidate.name === name);
  if (!spec) return name;
  const flagName = spec.flag.split(' ')[0] ?? spec.flag;
  return from === 'env' ? spec.env : from === 'flag' ? flagName : `${spec.env} / ${flagName}`;
}

/** Parse every setting; the first bad one throws a SettingError naming it as the operator wrote it. */
export function resolveSettings(raw: (spec: SettingSpec) => RawSetting): Settings {
  const settings: Partial<Record<keyof Settings, unknown>> = {};
  const origin = new Map<keyof Settings, RawSetting['from']>();
  for (const spec of SETTINGS) {
    const { text, from } = raw(spec);
    origin.set(spec.name, from);
    try {
      settings[spec.name] = spec.parse(text);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new SettingError(settingName(spec.name, from), reason);
    }
  }
  const resolved = settings as Settings;
  // Node refuses a headers timeout past the request timeout.
  if (resolved.headersTimeoutMs > resolved.requestTimeoutMs) {
    throw new SettingError(
      settingName('headersTimeoutMs', origin.get('headersTimeoutMs')),
      `must be at most the request timeout (${resolved.requestTimeoutMs} ms), got ${resolved.headersTimeoutMs}`,
    );
  }
  return resolved;
}
