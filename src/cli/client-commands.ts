import { Command, Option } from 'commander';
import { ALGORITHM_NAMES } from '../core/algorithms/index.js';
import { parseCheck, parseCounter, parsePeek } from '../core/validate.js';
import { toWireDecision } from '../protocol/decision.js';
import type { WireDecision } from '../protocol/decision.js';
import type { NodeEntry } from '../registry/node-registry.js';
import { DEFAULT_KEY_PREFIX } from '../stores/redis/keys.js';
import { CliError, HttpBackend, RedisBackend } from './backends.js';
import type { Backend } from './backends.js';

/** Exit codes of the client commands: `check` tells allowed from denied, any failure is 2. */
export const EXIT_ALLOWED = 0;
export const EXIT_DENIED = 1;
export const EXIT_ERROR = 2;

export interface TargetOptions {
  url?: string;
  redis?: string;
  keyPrefix: string;
  apiToken?: string;
  adminToken?: string;
  timeoutMs: string;
  json?: boolean;
}

interface CounterOptions extends TargetOptions {
  window: string;
  algorithm?: string;
}

interface CheckOptions extends CounterOptions {
  limit: string;
  cost?: string;
}

/** The options every client command shares: where to send it and how to print the answer. */
export function withTargetOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--url <url>', 'a running service, e.g. http://127.0.0.1:8080').env('RATELIMITER_URL'),
    )
    .addOption(new Option('--redis <url>', 'Redis directly, e.g. redis://127.0.0.1:6379').env('REDIS_URL'))
    .addOption(
      new Option('--key-prefix <prefix>', 'Redis key prefix (with --redis)')
        .env('RATELIMITER_KEY_PREFIX')
        .default(DEFAULT_KEY_PREFIX),
    )
    .addOption(
      new Option('--api-token <token>', 'bearer token of decision routes (with --url)').env(
        'RATELIMITER_API_TOKEN',
      ),
    )
    .addOption(
      new Option('--admin-token <token>', 'bearer token of admin routes (with --url)').env(
        'RATELIMITER_ADMIN_TOKEN',
      ),
    )
    .addOption(new Option('--timeout-ms <ms>', 'give up after this long').default('2000'))
    .option('--json', 'print one JSON document instead of text');
}

function withCounterOptions(command: Command): Command {
  return withTargetOptions(command)
    .requiredOption('--window <duration>', 'window: seconds or a duration like 500ms, 10s, 1m, 1h, 1d')
    .addOption(new Option('--algorithm <name>', 'counting algorithm').choices(ALGORITHM_NAMES));
}

export function wholeNumber(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw new CliError(`${flag} must be an integer >= 0, got "${text}"`);
  return Number(text);
}

/** "60" on a command line means 60 seconds, as a JSON number would. */
export function windowValue(text: string): number | string {
  return /^\d+(\.\d+)?$/.test(text) ? Number(text) : text;
}

/** The counter a command names: key, window and (optional) algorithm. */
function counterOf(key: string, options: CounterOptions) {
  return {
    key,
    window: windowValue(options.window),
    ...(options.algorithm === undefined ? {} : { algorithm: options.algorithm }),
  };
}

function openBackend(options: TargetOptions): Backend {
  const timeoutMs = wholeNumber(options.timeoutMs, '--timeout-ms');
  if (options.url !== undefined) {
    return new HttpBackend({
      baseUrl: options.url,
      apiToken: options.apiToken,
      adminToken: options.adminToken,
      timeoutMs,
    });
  }
  if (options.redis !== undefined) {
    return new RedisBackend({ url: options.redis, keyPrefix: options.keyPrefix, timeoutMs });
  }
  throw new CliError('say where: --url http://host:port (a running service) or --redis redis://host:port');
}

/** Open the backend, run, close it whatever happens; the exit code comes from the action. */
export async function withBackend(
  options: TargetOptions,
  action: (backend: Backend) => Promise<number>,
): Promise<void> {
  const backend = openBackend(options);
  try {
    process.exitCode = await action(backend);
  } finally {
    await backend.close();
  }
}

function describeDecision(decision: WireDecision): string {
  const verdict = decision.allowed ? 'allowed' : 'denied';
  return `${verdict} limit=${decision.limit} remaining=${decision.remaining} count=${decision.count} retryAfterMs=${decision.retryAfterMs} resetAfterMs=${decision.resetAfterMs}${decision.degraded ? ' degraded' : ''}`;
}

function describeNodes(nodes: readonly NodeEntry[]): string {
  if (nodes.length === 0) return 'no live nodes';
  return nodes
    .map(
      (node) =>
        `${node.id} ${node.host}:${node.httpPort} store=${node.store} version=${node.version} lastHeartbeatAt=${node.lastHeartbeatAt}`,
    )
    .join('\n');
}

export function print(options: TargetOptions, value: unknown, text: string): void {
  process.stdout.write(`${options.json ? JSON.stringify(value) : text}\n`);
}

/** `check`, `peek`, `reset` and `nodes`: each against a service (--url) or Redis (--redis). */
export function clientCommands(): Command[] {
  const check = withCounterOptions(
    new Command('check')
      .description('spend units of a counter; exit 0 allowed, 1 denied, 2 error')
      .argument('<key>', 'the counter key'),
  )
    .requiredOption('--limit <n>', 'units admitted per window')
    .option('--cost <n>', 'units to spend (default 1)')
    .action(async (key: string, options: CheckOptions) => {
      await withBackend(options, async (backend) => {
        const check = parseCheck({
          ...counterOf(key, options),
          limit: wholeNumber(options.limit, '--limit'),
          ...(options.cost === undefined ? {} : { cost: wholeNumber(options.cost, '--cost') }),
        });
        const decision = await backend.limiter.decide(check);
        print(options, toWireDecision(decision), describeDecision(decision));
        return decision.allowed ? EXIT_ALLOWED : EXIT_DENIED;
      });
    });

  const peek = withCounterOptions(
    new Command('peek')
      .description('show the decision a zero-cost check would give; spends nothing')
      .argument('<key>'),
  )
    .requiredOption('--limit <n>', 'units admitted per window')
    .action(async (key: string, options: CheckOptions) => {
      await withBackend(options, async (backend) => {
        const peek = parsePeek({ ...counterOf(key, options), limit: wholeNumber(options.limit, '--limit') });
        const decision = await backend.limiter.peekCheck(peek);
        print(options, toWireDecision(decision), describeDecision(decision));
        return EXIT_ALLOWED;
      });
    });

  const reset = withCounterOptions(
    new Command('reset')
      .description('forget a counter (over --url this needs --admin-token)')
      .argument('<key>'),
  ).action(async (key: string, options: CounterOptions) => {
    await withBackend(options, async (backend) => {
      await backend.limiter.resetCounter(parseCounter(counterOf(key, options)));
      print(options, { reset: true }, 'reset');
      return EXIT_ALLOWED;
    });
  });

  const nodes = withTargetOptions(
    new Command('nodes').description('list the live nodes of a deployment'),
  ).action(async (options: TargetOptions) => {
    await withBackend(options, async (backend) => {
      const live = await backend.nodes();
      print(options, { nodes: live }, describeNodes(live));
      return EXIT_ALLOWED;
    });
  });

  return [check, peek, reset, nodes];
}
