import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';

/**
 * The unit tier starts no process: a test that needs redis-server, the CLI or a child service
 * belongs in test/redis/ or test/topology/. Any attempt fails loudly instead of slowing the inner
 * loop down unnoticed.
 */
const STARTERS = [
  'spawn',
  'spawnSync',
  'exec',
  'execSync',
  'execFile',
  'execFileSync',
  'fork',
] as const satisfies readonly (keyof typeof childProcess)[];

for (const name of STARTERS) {
  Object.defineProperty(childProcess, name, {
    configurable: true,
    writable: true,
    value: () => {
      throw new Error(
        `child_process.${name}() in a unit test: unit tests start no process; move the test to test/redis/ or test/topology/`,
      );
    },
  });
}
// ESM `import { spawn } from 'node:child_process'` reads the patched functions from now on.
syncBuiltinESMExports();
