import { readFileSync } from 'node:fs';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { ALGORITHM_NAMES, algorithmFor } from '../../core/algorithms/index.js';

export type RedisClient = Redis | Cluster;

/** Called as (number of keys, ...keys, ...args), like EVALSHA. */
type ScriptCall = (...numberOfKeysThenKeysThenArgs: (string | number)[]) => Promise<unknown>;

const LUA_DIR = new URL('../../../lua/', import.meta.url);

/** The two entry scripts: one check, and an atomic batch. */
export type ScriptName = 'check' | 'check-all';

const COMMANDS: Record<ScriptName, string> = {
  check: 'ratelimiterCheck',
  'check-all': 'ratelimiterCheckAll',
};

const sources = new Map<ScriptName, string>();

/**
 * An entry script as Redis runs it: the prelude, every algorithm's Lua half, then the entry.
 * Assembled from the project's own files only, once per process.
 */
export function scriptSource(name: ScriptName): string {
  let source = sources.get(name);
  if (source === undefined) {
    const read = (path: string) => readFileSync(new URL(path, LUA_DIR), 'utf8');
    const parts = [
      read('include/prelude.lua'),
      ...ALGORITHM_NAMES.map((algorithm) => read(`algorithms/${algorithmFor(algorithm).shortName}.lua`)),
      read(`${name}.lua`),
    ];
    source = parts.join('\n');
    sources.set(name, source);
  }
  return source;
}

/**
 * Define both scripts as ioredis commands on the client. ioredis sends EVAL the first time on
 * each connection, EVALSHA after, and resends after a NOSCRIPT (restart, failover, SCRIPT FLUSH),
 * in plain calls and pipelines alike.
 */
export function defineScripts(client: RedisClient): void {
  for (const name of Object.keys(COMMANDS) as ScriptName[]) {
    const command = COMMANDS[name];
    if (command in client) continue;
    client.defineCommand(command, { lua: scriptSource(name) });
  }
}

/** A script's command on a client or a pipeline. */
export function scriptCall(client: RedisClient | ChainableCommander, name: ScriptName): ScriptCall {
  const call = (client as unknown as Record<string, ScriptCall | undefined>)[COMMANDS[name]];
  if (!call) throw new Error(`script ${name} is not defined on this client`);
  return call.bind(client);
}
