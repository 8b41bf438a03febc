import type { StoreStats } from '../stores/store.js';
import type { WireDeniedKeys, WireNodeReport, WireStore } from '../protocol/console.js';
import type { KeyLabels } from './key-labels.js';
import type { ConsoleRecorder } from './recorder.js';
import type { RulesStatus } from './rules-status.js';

export interface NodeConsoleOptions {
  nodeId: string;
  version: string;
  storeKind: string;
  recorder: ConsoleRecorder;
  rules: RulesStatus;
  labels: KeyLabels;
  storeStats?: () => StoreStats;
}

/** This node's figures as the console's JSON carries them: keys labelled, nothing raw. */
export class NodeConsole {
  constructor(readonly options: NodeConsoleOptions) {}

  get nodeId(): string {
    return this.options.nodeId;
  }

  get labels(): KeyLabels {
    return this.options.labels;
  }

  report(nowMs = Date.now()): WireNodeReport {
    const { recorder } = this.options;
    return {
      nodeId: this.options.nodeId,
      version: this.options.version,
      at: nowMs,
      decisions: recorder.decisions.series(nowMs),
      deniedKeys: this.deniedKeys(nowMs),
      rules: this.options.rules.report(),
      store: this.store(nowMs),
    };
  }

  private deniedKeys(nowMs: number): WireDeniedKeys {
    const summary = this.options.recorder.deniedKeysOfMinute(nowMs).summary();
    const { labels } = this.options;
    return {
      keys: labels.mode,
      k: summary.k,
      counted: summary.counted,
      maxUndercount: summary.maxUndercount,
      top: summary.hitters.map((hitter) => ({
        key: labels.label(hitter.item),
        denied: hitter.count,
        algorithm: hitter.algorithm,
        limit: hitter.limit,
        windowMs: hitter.windowMs,
      })),
    };
  }

  private store(nowMs: number): WireStore {
    const { recorder } = this.options;
    const latency = recorder.latencyOfMinute(nowMs);
    const stats = this.options.storeStats?.() ?? {};
    return {
      kind: this.options.storeKind,
      latencyBuckets: latency.buckets(),
      latencyP50Ms: latency.quantileMs(0.5) ?? null,
      latencyP99Ms: latency.quantileMs(0.99) ?? null,
      calls: latency.count,
      errors: recorder.errorsOfMinute(nowMs),
      denyCacheHits: stats.denyCacheHits ?? 0,
      shed: stats.shed ?? 0,
      timeouts: stats.timeouts ?? 0,
    };
  }
}
