import type { FastifyInstance } from 'fastify';
import { vi } from 'vitest';
import { SETTINGS, resolveSettings } from '../../src/config/settings.js';
import type { RawSetting, SettingSpec } from '../../src/config/settings.js';
import { LogDestination } from '../../src/logging/log-destination.js';
import { startService } from '../../src/main.js';
import type { RunningService } from '../../src/main.js';

/** The flag's name as typed (`--admin-token`), from its commander declaration. */
function flagName(spec: SettingSpec): string {
  return spec.flag.split(' ')[0] ?? spec.flag;
}

/**
 * Settings as `ratelimiter serve` resolves them from flags and env vars (a flag wins), with what a
 * test needs unless it says otherwise: ephemeral loopback ports, and no log output unless `logs`.
 */
export function settingsFrom(args: string[] = [], env: Record<string, string> = {}, logs = false) {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) flags.set(args[i] ?? '', args[i + 1] ?? '');
  const known = new Set(SETTINGS.map(flagName));
  for (const flag of flags.keys()) if (!known.has(flag)) throw new Error(`no setting has the flag ${flag}`);
  const testDefaults: Record<string, string> = {
    '--port': '0',
    '--grpc-port': '0',
    ...(logs ? {} : { '--log-level': 'silent' }),
  };
  return resolveSettings((spec): RawSetting => {
    const flag = flags.get(flagName(spec));
    if (flag !== undefined) return { text: flag, from: 'flag' };
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined) return { text: fromEnv, from: 'env' };
    const testDefault = testDefaults[flagName(spec)];
    return testDefault === undefined
      ? { text: undefined, from: 'default' }
      : { text: testDefault, from: 'flag' };
  });
}

/**
 * `ratelimiter serve` without a child process: the composition root (startService) runs in the
 * test's process on ephemeral loopback ports, and requests go through `app.inject()`, so a unit
 * test sees every route, the rules, auth, metrics and the logger exactly as the process wires them.
 * `fetch` and `postJson` answer a WHATWG Response, as the process helper's do.
 */
export class InProcessService {
  private constructor(
    private readonly running: RunningService,
    /** Every log line the service wrote since it started (JSON), when started with `captureLogs`. */
    readonly logLines: string[],
    private readonly releaseLogs: () => void,
  ) {}

  static async start(
    args: string[] = [],
    env: Record<string, string> = {},
    options: { captureLogs?: boolean } = {},
  ): Promise<InProcessService> {
    const logLines: string[] = [];
    // The service's logger writes each line through LogDestination.write: take them there.
    const capture = options.captureLogs
      ? vi.spyOn(LogDestination.prototype, 'write').mockImplementation((line: string) => {
          logLines.push(line.trimEnd());
          return true;
        })
      : undefined;
    const release = () => capture?.mockRestore();
    try {
      return new InProcessService(
        await startService(settingsFrom(args, env, options.captureLogs)),
        logLines,
        release,
      );
    } catch (error) {
      release();
      throw error;
    }
  }

  get app(): FastifyInstance {
    return this.running.app;
  }

  /** The gRPC port (Envoy's RateLimitService and grpc.health.v1), on loopback. */
  get grpcPort(): number {
    return this.running.grpcPort;
  }

  async stop(): Promise<void> {
    try {
      await this.running.stop();
    } finally {
      this.releaseLogs();
    }
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const reply = await this.app.inject({
      method: (init.method ?? 'GET') as 'GET',
      // What an HTTP client sends for the bare origin: the request target is never empty.
      url: path === '' ? '/' : path,
      headers,
      ...(init.body === undefined || init.body === null ? {} : { payload: init.body as string }),
    });
    const replyHeaders = new Headers();
    for (const [name, value] of Object.entries(reply.headers)) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) replyHeaders.append(name, String(item));
    }
    // A Response may not carry a body with a null-body status.
    const body = [101, 204, 205, 304].includes(reply.statusCode) ? null : reply.rawPayload;
    return new Response(body, { status: reply.statusCode, headers: replyHeaders });
  }

  postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  }
}
