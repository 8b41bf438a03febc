/**
 * The "raw driver": our Redis scripts sent by a bare ioredis client with precomputed arguments,
 * no limiter, no store around them. It is the ceiling the library is measured against: what
 * Redis and one connection can do with these scripts, so library / raw is what the Node side
 * costs. One function per script shape; the script (source and SHA), the keys and the argument
 * encoding come from the store's own modules, never a copy, so this follows the scripts as they
 * change.
 */
import type { Redis } from 'ioredis';
import type { Check } from '../src/core/types.js';
import { DEFAULT_COALESCER_LIMITS } from '../src/stores/check-coalescer.js';
import type { RedisStore } from '../src/stores/redis/redis-store.js';
import type { ScriptCall } from '../src/stores/redis/script-call.js';
import { SCRIPTS } from '../src/stores/redis/scripts.js';
import type { LuaScript } from '../src/stores/redis/scripts.js';
import type { Subject } from './rounds.js';

/** How the raw driver calls a script: checks per call, and calls awaiting their reply at once. */
export interface CallShape {
  checksPerCall: number;
  callsInFlight: number;
}

/**
 * The shapes measured for `checksInFlight` checks in flight: one check per call (the ceiling of a
 * store that sends each check alone), and the calls the store's coalescer makes with that many
 * checks waiting, at its default limits: full batches (the ceiling of the library as it is).
 */
export function callShapes(checksInFlight: number): CallShape[] {
  const checksPerCall = Math.max(1, Math.min(DEFAULT_COALESCER_LIMITS.maxBatch, checksInFlight));
  const batched = { checksPerCall, callsInFlight: Math.ceil(checksInFlight / checksPerCall) };
  return [{ checksPerCall: 1, callsInFlight: checksInFlight }, ...(checksPerCall > 1 ? [batched] : [])];
}

/** The store's own encoding of a call (its key naming and time are private; read, not copied). */
function prepare(store: RedisStore, checks: readonly Check[]): ScriptCall {
  return store['checkCall'](checks);
}

async function loaded(client: Redis, script: LuaScript): Promise<string> {
  const sha = await client.script('LOAD', script.source);
  if (sha !== script.sha) throw new Error(`SCRIPT LOAD answered ${String(sha)}, expected ${script.sha}`);
  return script.sha;
}

/**
 * The `check` script of the pool's algorithm, `checksPerCall` checks per EVALSHA. `pool` is what
 * the loop cycles through (one check for a hot key, many random keys for a spread); call i sends
 * the next `checksPerCall` entries. Answers how many checks of the call were admitted.
 */
export async function rawCheckScript(
  client: Redis,
  store: RedisStore,
  name: string,
  pool: readonly Check[],
  { checksPerCall, callsInFlight }: CallShape,
): Promise<Subject> {
  const algorithm = pool[0]?.algorithm;
  if (algorithm === undefined || pool.some((check) => check.algorithm !== algorithm)) {
    throw new Error('a raw check pool needs checks of one algorithm');
  }
  const sha = await loaded(client, SCRIPTS.check[algorithm]);
  const calls = Array.from({ length: Math.max(1, Math.floor(pool.length / checksPerCall)) }, (_, call) =>
    prepare(
      store,
      Array.from(
        { length: checksPerCall },
        (_, i) => pool[(call * checksPerCall + i) % pool.length] as Check,
      ),
    ),
  );
  return {
    name,
    checksPerCall,
    inFlight: callsInFlight,
    op: async (i) => {
      const { keyCount, argv } = calls[i % calls.length] as ScriptCall;
      const reply = (await client.evalsha(sha, keyCount, ...argv)) as unknown[];
      let admitted = 0;
      for (let at = 0; at < reply.length; at += 4) if (reply[at] === 1) admitted++;
      return admitted;
    },
  };
}
