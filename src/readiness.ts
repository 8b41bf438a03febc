import { StoreUnavailableError } from './core/errors.js';
import { parseCheck } from './core/validate.js';
import type { Store } from './stores/store.js';

/** A readiness failure that is not the store's: its `code` is the error code the transports answer. */
export class NotReadyError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'NotReadyError';
  }
}

/** One thing a decision needs, checked by doing it. */
export interface ReadinessCheck {
  /** What is checked, for the reply and the log line: "counter script", "node registry". */
  name: string;
  run(): Promise<void>;
}

/** Whether a decision can be made and recorded now; when not, which check failed and why. */
export type Readiness =
  | { ready: true }
  | {
      ready: false;
      check: string;
      /** A short code: the store's reason (`oom`, `noperm`, `readonly`, `timeout`, ...) or `error`. */
      reason: string;
      message: string;
      error: unknown;
    };

/** What `/readyz` asks. */
export interface ReadinessProbe {
  probe(): Promise<Readiness>;
}

export interface DecisionReadinessOptions {
  /**
   * A result is reused this long. Default 0: readiness says what holds now; concurrent probes
   * always share one run.
   */
  reuseMs?: number;
  /** Told when readiness changes (the first result included), for the log line. */
  onChange?: (now: Readiness, before: Readiness | undefined) => void;
  now?: () => number;
}

/**
 * Readiness as "a decision can be made and recorded": runs each check in order (the same script a
 * check runs, then the registry write) and reports the first failure. A PING would answer while
 * Redis refuses every write (OOM), the ACL user may not run scripts (NOPERM), the URL names a
 * read-only replica (READONLY) or EVALSHA is renamed away.
 */
export class DecisionReadiness implements ReadinessProbe {
  private readonly reuseMs: number;
  private readonly onChange: NonNullable<DecisionReadinessOptions['onChange']>;
  private readonly now: () => number;
  private last: { at: number; readiness: Readiness } | undefined;
  private inFlight: Promise<Readiness> | undefined;

  constructor(
    private readonly checks: readonly ReadinessCheck[],
    options: DecisionReadinessOptions = {},
  ) {
    this.reuseMs = options.reuseMs ?? 0;
    this.onChange = options.onChange ?? (() => undefined);
    this.now = options.now ?? (() => performance.now());
  }

  probe(): Promise<Readiness> {
    const { last } = this;
    if (last && this.reuseMs > 0 && this.now() - last.at < this.reuseMs)
      return Promise.resolve(last.readiness);
    this.inFlight ??= this.runChecks().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async runChecks(): Promise<Readiness> {
    let readiness: Readiness = { ready: true };
    for (const check of this.checks) {
      try {
        await check.run();
      } catch (error) {
        readiness = {
          ready: false,
          check: check.name,
          reason: reasonOf(error),
          message: error instanceof Error ? error.message : String(error),
          error,
        };
        break;
      }
    }
    const before = this.last?.readiness;
    this.last = { at: this.now(), readiness };
    if (!sameReadiness(before, readiness)) this.onChange(readiness, before);
    return readiness;
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof StoreUnavailableError) return error.reason ?? 'unavailable';
  if (error instanceof NotReadyError) return error.code;
  return 'error';
}

function sameReadiness(a: Readiness | undefined, b: Readiness): boolean {
  if (a === undefined) return false;
  if (a.ready || b.ready) return a.ready === b.ready;
  return a.check === b.check && a.reason === b.reason;
}

/** Counter key of the probe's check. It spends nothing, so sharing it with a client's key is harmless. */
export const READINESS_PROBE_KEY = 'ratelimiter:readiness-probe';

/**
 * A zero-cost check on the probe key, straight to the store (no failure policy, no metrics): the
 * same script as every check, so what refuses a check refuses this.
 */
export function counterScriptCheck(store: Pick<Store, 'check'>): ReadinessCheck {
  const check = parseCheck({ key: READINESS_PROBE_KEY, limit: 1, window: 1, cost: 0 });
  return {
    name: 'counter script',
    run: async () => {
      await store.check(check);
    },
  };
}

/** The rules file, when one is configured, has been loaded: Envoy's decisions need it. */
export function rulesLoadedCheck(loaded: () => boolean): ReadinessCheck {
  return {
    name: 'rules',
    run: () =>
      loaded()
        ? Promise.resolve()
        : Promise.reject(new NotReadyError('rules_not_loaded', 'the rules file has not been loaded yet')),
  };
}

/** The node registry write a heartbeat does. */
export function registryWriteCheck(announce: () => Promise<void>): ReadinessCheck {
  return { name: 'node registry', run: announce };
}
