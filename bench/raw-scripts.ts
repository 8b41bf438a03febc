/**
 * The "raw driver": our Redis scripts sent by a bare ioredis client with precomputed arguments,
 * no limiter, no store around them. It is the ceiling the library is measured against: what
 * Redis and one connection can do with these scripts, so library / raw is what the Node side
 * costs. One function per script shape; the script source and the argument encoding come from the
 * store's own modules, never a copy, so this follows the scripts as they change.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Check } from '../src/core/types.js';
import type { RedisStore } from '../src/stores/redis/redis-store.js';
import { scriptSource } from '../src/stores/redis/scripts.js';
import type { Subject } from './rounds.js';

/** EVALSHA's arguments after the SHA: number of keys, keys, then ARGV. */
type ScriptArgs = [numberOfKeys: number | string, ...keysThenArgs: (string | number)[]];

/** The store's own encoding of one check (today the private RedisStore.checkArgs). */
function encodedCheck(store: RedisStore, check: Check): ScriptArgs {
  const [numberOfKeys, ...rest] = store['checkArgs'](check);
  if (numberOfKeys === undefined) throw new Error('the store encoded a check without its key count');
  return [numberOfKeys, ...rest];
}

async function loadScript(client: Redis, source: string): Promise<string> {
  const sha = createHash('sha1').update(source).digest('hex');
  const loaded = await client.script('LOAD', source);
  if (loaded !== sha) throw new Error(`SCRIPT LOAD answered ${String(loaded)}, expected ${sha}`);
  return sha;
}

/**
 * The `check` script, one check per EVALSHA. `checks` is the pool the loop cycles through (one
 * entry for a hot key; many random keys for a spread); call i sends pool entry i mod size.
 * Answers 1 per admitted check, from the reply's first integer.
 */
export async function rawCheckScript(
  client: Redis,
  store: RedisStore,
  name: string,
  checks: readonly Check[],
): Promise<Subject> {
  const sha = await loadScript(client, scriptSource('check'));
  const pool = checks.map((check) => encodedCheck(store, check));
  const size = pool.length;
  return {
    name,
    checksPerCall: 1,
    op: async (i) => {
      const args = pool[i % size] as ScriptArgs;
      const reply = (await client.evalsha(sha, ...args)) as unknown[];
      return reply[0] === 1 ? 1 : 0;
    },
  };
}
