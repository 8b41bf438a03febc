import { Worker } from 'node:worker_threads';
import type { LoadedRules, RulesSnapshot } from './load.js';
import { RulesError } from './types.js';

/** What the parser's thread answers to one snapshot. */
export type ParseReply =
  | { id: number; loaded: LoadedRules }
  | { id: number; error: { file: string; line: number; reason: string } }
  | { id: number; failure: string };

/** A parse that takes longer is abandoned (its thread ended, a new one started for the next). */
const PARSE_TIMEOUT_MS = 60_000;

/**
 * Built, the thread runs parse-worker.js. From the sources (tests, tsx) it runs parse-worker.ts
 * through tsx's loader, registered in the thread (a thread does not inherit `--import tsx`).
 */
function startWorker(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./parse-worker.js', import.meta.url));
  const entry = new URL('./parse-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true });
}

interface Pending {
  resolve: (loaded: LoadedRules) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Parses rules snapshots on one long-lived worker thread, so a reload of a big file (8,000 rules:
 * 1.3 s of parsing) never holds the event loop: the main thread only receives the rule set (its
 * structured clone) and swaps it in. One thread, started at once and reused: a thread's start is
 * paid once (0.6-2 s under tsx), and parses queue on it in order.
 */
export class RulesParser {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly timeoutMs = PARSE_TIMEOUT_MS) {
    this.spawn();
  }

  build(snapshot: RulesSnapshot): Promise<LoadedRules> {
    if (this.closed) return Promise.reject(new Error('the rules parser is closed'));
    const worker = this.worker ?? this.spawn();
    const id = this.nextId++;
    return new Promise<LoadedRules>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.stop(worker, new Error(`parsing the rules took longer than ${this.timeoutMs} ms`));
        void worker.terminate();
      }, this.timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      worker.postMessage({ id, snapshot });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (worker === undefined) return;
    this.stop(worker, new Error('the rules parser is closed'));
    await worker.terminate();
  }

  private spawn(): Worker {
    const worker = startWorker();
    // Never what keeps the process alive: a stopping service just ends it.
    worker.unref();
    worker.on('message', (reply: ParseReply) => {
      const waiting = this.pending.get(reply.id);
      if (waiting === undefined) return;
      this.pending.delete(reply.id);
      clearTimeout(waiting.timer);
      if ('loaded' in reply) waiting.resolve(reply.loaded);
      else if ('error' in reply)
        waiting.reject(new RulesError(reply.error.file, reply.error.line, reply.error.reason));
      else waiting.reject(new Error(reply.failure));
    });
    worker.on('error', (error) => {
      this.stop(worker, error);
    });
    worker.on('exit', (code) => {
      this.stop(worker, new Error(`the rules parser's thread exited (${code})`));
    });
    this.worker = worker;
    return worker;
  }

  /** The thread is gone or going: every parse waiting on it fails, the next build starts another. */
  private stop(worker: Worker, error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const waiting of this.pending.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(error);
    }
    this.pending.clear();
  }
}
