import { readFileSync } from 'node:fs';

/** The package version, read once: src/config and dist/config both sit two levels below package.json. */
export const PACKAGE_VERSION: string = (() => {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof manifest.version === 'string' ? manifest.version : '0.0.0';
})();
