import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES, algorithmFor } from '../../src/core/algorithms/index.js';

const LUA_DIR = new URL('../../lua/', import.meta.url);

/**
 * Every Lua file's SHA1, pinned: a changed script is a deliberate act. What a script stores
 * under a key is a contract with every other version of the service that shares the Redis.
 */
const PINNED: Record<string, string> = {
  'algorithms/fw.lua': '0723f4eeb43abc0c5e27c4a7fef996405993cbb2',
  'algorithms/swc.lua': '4acabe504140e569c846a505e889de544d36143c',
  'algorithms/swl.lua': '5caaabfa5c409cd63818f0c5e916e751ef2fa0c7',
  'algorithms/tb.lua': 'd1f2f06091315b85f10094de98c29f6a4185dd0f',
  'check-all.lua': 'f2ff6549a1a14d15907c640ae515c832f590556f',
  'check.lua': '0529d21da1f36f9c23dec50e2eaa73762754613d',
  'include/lease-set.lua': 'aaeb5d5a201366a0300d0913d32bb4f9705cfd15',
  'include/prelude.lua': '3a12c6652ac5be05114896bd41969569160e87d0',
  'leases/acquire.lua': '4b5a3c815ade5b3ffd67d5e56e1d8ecf3af6224d',
  'leases/release.lua': '88375f814c419b1b42bb70fce504b27d8ea96d1b',
  'leases/renew.lua': 'f3c9720d7cc900e655beab5d827f348ead362d44',
  'quota-report.lua': 'd5fd2db386ca8833e80f53eaacad78a0dc91e674',
  'refund.lua': 'dd3419688f0fa36e6018b8a832379ecca82b4810',
};

/** Each counter's key segment: the algorithm and its value layout's version. */
const KEY_SEGMENTS = {
  'sliding-window-log': 'swl2',
  'sliding-window-counter': 'swc2',
  'fixed-window': 'fw2',
  'token-bucket': 'tb2',
};

const WHY =
  'changed. If what it stores changed shape or meaning (a type, a field, a unit), version its key: ' +
  "a counter's by its algorithm's keySegment (src/core/algorithms/*.ts, and KEY_SEGMENTS here), " +
  'any other by its name (src/stores/redis/keys.ts, redis-quota-store.ts), so keys of the old ' +
  'layout never meet the new script in a rolling upgrade (WRONGTYPE is a store failure, which ' +
  '`open` admits for up to the window). Then pin the new SHA1 here.';

function luaFiles(dir = '', found: string[] = []): string[] {
  for (const entry of readdirSync(new URL(dir, LUA_DIR), { withFileTypes: true })) {
    if (entry.isDirectory()) luaFiles(`${dir}${entry.name}/`, found);
    else if (entry.name.endsWith('.lua')) found.push(`${dir}${entry.name}`);
  }
  return found.sort();
}

describe('Lua scripts, pinned', () => {
  it('has the SHA1 pinned of every Lua file', () => {
    for (const file of luaFiles()) {
      const sha = createHash('sha1')
        .update(readFileSync(new URL(file, LUA_DIR)))
        .digest('hex');
      expect(sha, `lua/${file} ${PINNED[file] === undefined ? 'is new: pin its SHA1 here' : WHY}`).toBe(
        PINNED[file],
      );
    }
    expect(Object.keys(PINNED).sort(), 'a pinned Lua file is gone: unpin it').toEqual(luaFiles());
  });

  it('puts the layout version in every counter key, distinct from every other', () => {
    const segments = Object.fromEntries(
      ALGORITHM_NAMES.map((algorithm) => [algorithm, algorithmFor(algorithm).keySegment]),
    );
    expect(segments, 'a key segment changes with its layout only, and with the Lua SHA pins').toEqual(
      KEY_SEGMENTS,
    );
    // 0.1.0 wrote other layouts under the bare short names.
    for (const algorithm of ALGORITHM_NAMES) {
      expect(algorithmFor(algorithm).keySegment).not.toBe(algorithmFor(algorithm).shortName);
    }
  });
});
