import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FRAMEWORKS = [
  'express',
  'express-rate-limit',
  'fastify',
  '@fastify/rate-limit',
  'hono',
  'hono-rate-limiter',
  '@nestjs/common',
  '@nestjs/core',
  '@nestjs/throttler',
];

/** Every package a built module imports at run time, following its relative imports. */
function runtimeImports(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    // Built ESM: `import ... from '...'`, `export ... from '...'` and `import('...')`; `import type` is erased.
    for (const [, specifier] of source.matchAll(/(?:from|import\()\s*'([^']+)'/g)) {
      if (specifier === undefined) continue;
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else
        packages.add(
          specifier.startsWith('@')
            ? specifier.split('/').slice(0, 2).join('/')
            : (specifier.split('/')[0] ?? ''),
        );
    }
  };
  visit(join(ROOT, entry));
  return packages;
}

describe('package exports (dist, built by npm test)', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    exports: Record<string, { import: string; types: string }>;
    dependencies: Record<string, string>;
    peerDependenciesMeta: Record<string, { optional: boolean }>;
  };

  it('names the four subpaths the docs promise', () => {
    expect(Object.keys(manifest.exports)).toEqual(['.', './express', './fastify', './hono', './nestjs']);
  });

  it('the core entry imports no framework and no peer library', () => {
    const imports = runtimeImports(manifest.exports['.']?.import ?? '');
    // The walk reaches the stores: a walker that found nothing would prove nothing.
    expect(imports).toContain('ioredis');
    // fastify is the service's own HTTP server; the adapters must not make it any heavier.
    expect([...imports].filter((name) => FRAMEWORKS.includes(name) && name !== 'fastify')).toEqual([]);
  });

  it.each([
    ['./express', []],
    ['./fastify', []],
    ['./hono', []],
    // Nest's 503 is an HttpException: only its own subpath loads @nestjs/common.
    ['./nestjs', ['@nestjs/common']],
  ])('%s imports no framework at run time but %j', (subpath, allowed) => {
    const imports = runtimeImports(manifest.exports[subpath]?.import ?? '');
    expect([...imports].filter((name) => FRAMEWORKS.includes(name))).toEqual(allowed);
  });

  it('the frameworks are optional peers, never dependencies', () => {
    for (const name of FRAMEWORKS.filter(
      (framework) => framework !== 'fastify' && framework !== '@nestjs/core',
    )) {
      expect(manifest.dependencies).not.toHaveProperty(name);
      expect(manifest.peerDependenciesMeta[name]?.optional, name).toBe(true);
    }
  });
});
