import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** The console page's files, shipped in the package (`web/console/`, listed in package.json "files"). */
const WEB_DIR = new URL('../../web/console/', import.meta.url);
/** Where index.html names its assets; replaced by the versioned path when the page is loaded. */
const ASSETS_PLACEHOLDER = '%ASSETS%';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Every file the page loads besides itself: a fixed list, so no request names a path on disk. */
export const CONSOLE_ASSET_FILES = [
  'console.css',
  'main.js',
  'api.js',
  'render.js',
  'tables.js',
  'chart.js',
  'icon.svg',
] as const;

export interface ConsoleAsset {
  body: Buffer;
  contentType: string;
}

export interface ConsolePage {
  /** index.html with its asset URLs under `assetsPath`. */
  html: string;
  /** `/console/assets/<version>`: the version is a hash of every asset, so a new release is a new URL. */
  assetsPath: string;
  version: string;
  assets: ReadonlyMap<string, ConsoleAsset>;
}

/**
 * Reads the page's files once (they are a few tens of kB) and versions them by content: the assets
 * can then be cached for a year, and a page of a new release never runs an old script.
 */
export function loadConsolePage(pagePath: string): ConsolePage {
  const hash = createHash('sha256');
  const assets = new Map<string, ConsoleAsset>();
  for (const file of CONSOLE_ASSET_FILES) {
    const body = readFileSync(new URL(file, WEB_DIR));
    hash.update(file).update('\0').update(body);
    const extension = file.slice(file.lastIndexOf('.'));
    assets.set(file, { body, contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream' });
  }
  const version = hash.digest('hex').slice(0, 12);
  const assetsPath = `${pagePath}/assets/${version}`;
  const html = readFileSync(new URL('index.html', WEB_DIR), 'utf8').replaceAll(
    ASSETS_PLACEHOLDER,
    assetsPath,
  );
  return { html, assetsPath, version, assets };
}
