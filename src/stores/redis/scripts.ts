import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ALGORITHM_NAMES, algorithmFor } from '../../core/algorithms/index.js';
import type { AlgorithmName } from '../../core/algorithms/index.js';
import { PACKAGE_VERSION } from '../../config/version.js';
import type { RedisClient } from './connect.js';
import type { ScriptCall } from './script-call.js';

/** Arguments of a script call, as EVALSHA takes them after the keys. */
export type ScriptArg = string | number;

const LUA_DIR = new URL('../../../lua/', import.meta.url);

function readLua(path: string): string {
  return readFileSync(new URL(path, LUA_DIR), 'utf8');
}

/**
 * One entry script as Redis runs it, called by EVALSHA. Its first line is a Redis 7 shebang
 * (flags: none, so the script may write and Redis refuses it as a whole, before it runs, when
 * out of memory or on a read-only replica), its second names the package version: scripts of two
 * versions on one Redis never share a SHA, so neither ever runs the other's code.
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * EVALSHA, and EVAL once more if Redis does not know the script (after a restart, a failover or
   * SCRIPT FLUSH): NOSCRIPT means nothing ran, so sending it again spends nothing twice.
   */
  async run(client: RedisClient, { keyCount, argv }: ScriptCall): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keyCount, ...argv);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, keyCount, ...argv);
    }
  }
}

/** Shebang, version, prelude, the included files an entry needs, then the entry; from our own files only. */
function assembleFrom(name: string, includes: readonly string[], entry: string, binding = ''): LuaScript {
  const parts = [
    '#!lua',
    `-- ratelimiter-service ${PACKAGE_VERSION}: ${name}`,
    readLua('include/prelude.lua'),
    ...includes.map(readLua),
    binding,
    readLua(`${entry}.lua`),
  ];
  return new LuaScript(name, parts.join('\n'));
}

/** An entry with the algorithms it runs. */
function assemble(
  name: string,
  algorithms: readonly AlgorithmName[],
  entry: string,
  binding = '',
): LuaScript {
  const files = algorithms.map((algorithm) => `algorithms/${algorithmFor(algorithm).shortName}.lua`);
  return assembleFrom(name, files, entry, binding);
}

/** A lease operation: its entry in lua/leases/ with the lease set's shared code. */
function leaseScript(operation: 'acquire' | 'release' | 'renew'): LuaScript {
  return assembleFrom(`lease ${operation}`, ['include/lease-set.lua'], `leases/${operation}`);
}

/**
 * Every script the store runs, built once per process. A check runs only its own algorithm's
 * code; the atomic batch and the refund, which may mix algorithms, carry all of them.
 */
export const SCRIPTS = {
  check: Object.fromEntries(
    ALGORITHM_NAMES.map((algorithm) => {
      const short = algorithmFor(algorithm).shortName;
      return [
        algorithm,
        assemble(`check ${short}`, [algorithm], 'check', `local algorithm = algorithms['${short}']`),
      ];
    }),
  ) as Record<AlgorithmName, LuaScript>,
  checkAll: assemble('check-all', ALGORITHM_NAMES, 'check-all'),
  refund: assemble('refund', ALGORITHM_NAMES, 'refund'),
  lease: {
    acquire: leaseScript('acquire'),
    release: leaseScript('release'),
    renew: leaseScript('renew'),
  },
};
