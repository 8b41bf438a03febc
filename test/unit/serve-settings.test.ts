import { afterEach, describe, expect, it } from 'vitest';
import { serveCommand } from '../../src/cli/serve-command.js';
import { SettingError } from '../../src/config/settings.js';

/**
 * `ratelimiter serve`'s flags and env vars as its command parses them, in this process: a bad one
 * is refused before anything starts, named as the operator wrote it. That the process then exits 2
 * with this one line on stderr is test/topology/cli.test.ts's.
 */
const savedEnv = { ...process.env };
afterEach(() => {
  for (const name of Object.keys(process.env))
    if (!(name in savedEnv)) Reflect.deleteProperty(process.env, name);
  Object.assign(process.env, savedEnv);
});

/** What parsing `serve <args>` with `env` as its only settings throws. */
async function refusal(args: string[], env: Record<string, string>): Promise<unknown> {
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('RATELIMITER_') || name === 'REDIS_URL') Reflect.deleteProperty(process.env, name);
  }
  Object.assign(process.env, env);
  const command = serveCommand(() => {
    throw new Error('serve started: the settings were accepted');
  }).exitOverride();
  return command.parseAsync(args, { from: 'user' }).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('ratelimiter serve with bad settings', () => {
  const cases: { args: string[]; env: Record<string, string>; names: string }[] = [
    { args: ['--port', '70000'], env: {}, names: '--port' },
    { args: [], env: { RATELIMITER_PORT: 'eighty' }, names: 'RATELIMITER_PORT' },
    { args: ['--redis', 'http://127.0.0.1:6379'], env: {}, names: '--redis' },
    { args: [], env: { RATELIMITER_ADMIN_TOKEN: 'short' }, names: 'RATELIMITER_ADMIN_TOKEN' },
    { args: ['--log-level', 'loud'], env: {}, names: '--log-level' },
    { args: [], env: { RATELIMITER_FAILURE_MODE: 'maybe' }, names: 'RATELIMITER_FAILURE_MODE' },
    { args: [], env: { REDIS_URL: 'redis+cluster://' }, names: 'REDIS_URL' },
    { args: ['--heartbeat-ms', '0'], env: {}, names: '--heartbeat-ms' },
    { args: [], env: { RATELIMITER_STORE_TIMEOUT_MS: '-1' }, names: 'RATELIMITER_STORE_TIMEOUT_MS' },
    { args: ['--key-prefix', 'a{b}'], env: {}, names: '--key-prefix' },
    { args: ['--node-id', 'has space'], env: {}, names: '--node-id' },
    // A flag wins over its env var: the good flag hides the bad env value...
    { args: ['--port', '0', '--log-level', 'nope'], env: { RATELIMITER_PORT: 'bad' }, names: '--log-level' },
  ];

  it.each(cases)('refuses it with one line naming $names', async ({ args, env, names }) => {
    const error = await refusal(args, env);
    expect(error).toBeInstanceOf(SettingError);
    const message = (error as SettingError).message;
    expect(message).toContain(names);
    expect(message).not.toContain('\n');
  });
});
