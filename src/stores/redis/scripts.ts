import { readFileSync } from 'node:fs';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { algorithmFor } from '../../core/algorithms/index.js';
import type { AlgorithmName } from '../../core/algorithms/index.js';

export type RedisClient = Redis | Cluster;

type ScriptCall = (...keysThenArgs: (string | number)[]) => Promise<unknown>;

const LUA_DIR = new URL('../../../lua/', import.meta.url);
const sources = new Map<string, string>();

/** The Lua half of a twin, read from lua/ once per process. */
export function luaSource(algorithm: AlgorithmName): string {
  const file = algorithmFor(algorithm).luaFile;
  let source = sources.get(file);
  if (source === undefined) {
    source = readFileSync(new URL(file, LUA_DIR), 'utf8');
    sources.set(file, source);
  }
  return source;
}

/** Name of the ioredis command that runs an algorithm's script. */
export function commandName(algorithm: AlgorithmName): string {
  return `ratelimiter_${algorithmFor(algorithm).shortName}`;
}

/**
 * Define every script as an ioredis command on the client. ioredis sends EVAL the first time on
 * each connection, EVALSHA after, and resends after a NOSCRIPT (restart, failover, SCRIPT FLUSH),
 * in plain calls and pipelines alike.
 */
export function defineScripts(client: RedisClient, algorithms: readonly AlgorithmName[]): void {
  for (const algorithm of algorithms) {
    const name = commandName(algorithm);
    if (name in client) continue;
    client.defineCommand(name, { numberOfKeys: 2, lua: luaSource(algorithm) });
  }
}

/** The script command of an algorithm, on a client or a pipeline. */
export function scriptCall(client: RedisClient | ChainableCommander, algorithm: AlgorithmName): ScriptCall {
  const call = (client as unknown as Record<string, ScriptCall | undefined>)[commandName(algorithm)];
  if (!call) throw new Error(`script for ${algorithm} is not defined on this client`);
  return call.bind(client);
}
