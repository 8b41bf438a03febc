import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { buildRules, readRules } from './load.js';
import type { LoadedRules, RulesSnapshot } from './load.js';
import { RulesError } from './types.js';
import type { RuleSet } from './types.js';

/** How long the directory must be quiet after a change before it is read. */
const WATCH_SETTLE_MS = 100;

export interface RulesWatcherOptions {
  path: string;
  /** A good new rule set took effect. */
  onReload: (rules: RuleSet, warnings: string[]) => void;
  /** A changed path could not be loaded; the previous rules stay. Reported once per distinct content. */
  onError: (error: RulesError) => void;
  /** The poll that catches what fs.watch misses (network filesystems, symlink swaps). Default 1000 ms. */
  pollIntervalMs?: number;
  /**
   * How a reload parses a changed snapshot; the service passes a RulesParser's (a worker thread,
   * so decisions keep flowing while a big file parses). Default: here, on the event loop.
   */
  parse?: (snapshot: RulesSnapshot) => Promise<LoadedRules>;
}

/**
 * The rules in force, reloaded when the path changes: fs.watch for speed, a poll as the fallback
 * (both compare a fingerprint of the files' content, so a touch without a change reloads nothing).
 * A bad new file never replaces good rules, and neither does a directory emptied of its files (an
 * empty directory at start is allowed: the service warns and loads what arrives).
 */
export class RulesWatcher {
  private rules: RuleSet;
  private fingerprint: string;
  private lastFailed: string | undefined;
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private settle: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private again = false;
  private closed = false;

  private constructor(
    private readonly options: RulesWatcherOptions,
    rules: RuleSet,
    fingerprint: string,
  ) {
    this.rules = rules;
    this.fingerprint = fingerprint;
  }

  /** Load the path once (a RulesError stops the start), then watch it. */
  static async start(options: RulesWatcherOptions): Promise<{ watcher: RulesWatcher; warnings: string[] }> {
    const snapshot = await readRules(options.path);
    const { rules, warnings } = buildRules(snapshot);
    const watcher = new RulesWatcher(options, rules, snapshot.fingerprint);
    await watcher.watch();
    return { watcher, warnings };
  }

  get current(): RuleSet {
    return this.rules;
  }

  /** Look at the path now (also what the watch and the poll call). */
  async check(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = this.reload().finally(() => {
      this.checking = undefined;
    });
    await this.checking;
    if (this.again && !this.closed) {
      this.again = false;
      await this.check();
    }
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.settle);
  }

  private async reload(): Promise<void> {
    let failure: { key: string; error: RulesError };
    try {
      const snapshot = await readRules(this.options.path);
      if (snapshot.fingerprint === this.fingerprint) {
        this.lastFailed = undefined;
        return;
      }
      if (snapshot.fingerprint === this.lastFailed) return;
      try {
        // Files deleted (a bad deploy, a ConfigMap emptied) are not a decision to admit everything.
        if (snapshot.files.length === 0 && this.rules.files.length > 0) {
          throw new RulesError(
            this.options.path,
            1,
            'the rules directory holds no rules files any more: the previous rules stay until files return',
          );
        }
        const { rules, warnings } = await (this.options.parse?.(snapshot) ?? buildRules(snapshot));
        if (this.closed) return;
        this.rules = rules;
        this.fingerprint = snapshot.fingerprint;
        this.lastFailed = undefined;
        this.options.onReload(rules, warnings);
        return;
      } catch (error) {
        failure = { key: snapshot.fingerprint, error: asRulesError(error, this.options.path) };
      }
    } catch (error) {
      // Unreadable (mid-swap, say): told once until what is read changes.
      const rulesError = asRulesError(error, this.options.path);
      failure = { key: `unreadable:${rulesError.message}`, error: rulesError };
    }
    if (this.closed || failure.key === this.lastFailed) return;
    this.lastFailed = failure.key;
    this.options.onError(failure.error);
  }

  private async watch(): Promise<void> {
    const interval = this.options.pollIntervalMs ?? 1000;
    this.poll = setInterval(() => void this.check(), interval);
    this.poll.unref();
    // Watch the directory, not the file: editors and ConfigMaps replace the file, ending a file watch.
    const isDirectory = await stat(this.options.path).then(
      (info) => info.isDirectory(),
      () => false,
    );
    const directory = isDirectory ? this.options.path : dirname(this.options.path);
    try {
      // Settle first: a file written in place is seen empty or half-written by an immediate read.
      this.watcher = watch(directory, { persistent: false }, () => {
        clearTimeout(this.settle);
        this.settle = setTimeout(() => void this.check(), WATCH_SETTLE_MS);
        this.settle.unref();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // No inotify (or the like) here: the poll alone keeps the rules current.
      this.watcher = undefined;
    }
  }
}

function asRulesError(error: unknown, path: string): RulesError {
  return error instanceof RulesError
    ? error
    : new RulesError(path, 1, error instanceof Error ? error.message : String(error));
}
