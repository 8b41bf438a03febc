import http from 'node:http';
import https from 'node:https';
import { StoreUnavailableError } from '../../core/errors.js';
import type { ErrorReply } from '../../protocol/errors.js';
import { DeadlineWatch } from '../deadline-watch.js';

export type HttpReply = Required<Pick<ErrorReply, 'status' | 'body'>> & Pick<ErrorReply, 'retryAfterS'>;

export interface JsonClientOptions {
  baseUrl: string;
  /** Bound on every call while it waits on the service, connection included. */
  timeoutMs: number;
  /** Most connections kept open to the service. */
  maxSockets: number;
}

/**
 * JSON over HTTP/1.1 with keep-alive on Node's own agent (no dependency): one call is one request
 * on a reused connection. Every call is bounded by the timeout the way RedisConnection bounds its
 * calls: the clock runs only while the call waits on the service (DeadlineWatch discounts this
 * process's own event-loop lag, and a reply already read wins), so a busy application never
 * mistakes itself for a slow service.
 */
export class JsonClient {
  private readonly agent: http.Agent;
  private readonly base: URL;
  private readonly transport: typeof http | typeof https;
  private readonly deadlines: DeadlineWatch;
  private lastTimeoutAt = -Infinity;
  private timeouts = 0;

  constructor(private readonly options: JsonClientOptions) {
    this.base = new URL(options.baseUrl);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new RangeError('the service url must be http:// or https://');
    }
    this.transport = this.base.protocol === 'https:' ? https : http;
    const AgentClass = this.base.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new AgentClass({ keepAlive: true, maxSockets: options.maxSockets, scheduling: 'lifo' });
    // Many sockets answer out of order: each call is charged its own (lag-discounted) wait.
    this.deadlines = new DeadlineWatch(Math.max(1, Math.min(20, Math.floor(options.timeoutMs / 5))), false);
  }

  /** Where the service is, without credentials, for error messages. */
  get origin(): string {
    return this.base.origin;
  }

  /** Whether a call timed out within the last `withinMs`: the service, not this process, is slow. */
  timedOutRecently(withinMs: number): boolean {
    return performance.now() - this.lastTimeoutAt < withinMs;
  }

  stats(): { timeouts: number } {
    return { timeouts: this.timeouts };
  }

  request(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<HttpReply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const { timeoutMs } = this.options;
    return new Promise<HttpReply>((resolve, reject) => {
      const fail = (message: string, cause?: unknown, reason = 'unreachable') => {
        reject(new StoreUnavailableError(message, { cause, reason }));
      };
      const request = this.transport.request(
        new URL(path, this.base),
        {
          method,
          agent: this.agent,
          headers: {
            ...headers,
            ...(payload === undefined
              ? {}
              : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => {
            this.deadlines.done(deadline);
            fail(`the service at ${this.origin} broke off its reply: ${error.message}`, error);
          });
          response.on('end', () => {
            this.deadlines.done(deadline);
            if (deadline.expired) return;
            const text = Buffer.concat(chunks).toString('utf8');
            const retryAfter = Number(response.headers['retry-after']);
            resolve({
              status: response.statusCode ?? 0,
              body: parseJson(text),
              retryAfterS: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
            });
          });
        },
      );
      const deadline = this.deadlines.track(timeoutMs, () => {
        this.timeouts++;
        this.lastTimeoutAt = performance.now();
        request.destroy();
        fail(`the service at ${this.origin} did not answer within ${timeoutMs}ms`, undefined, 'timeout');
      });
      request.on('error', (error) => {
        this.deadlines.done(deadline);
        if (!deadline.expired) fail(`cannot reach the service at ${this.origin}: ${error.message}`, error);
      });
      request.end(payload);
    });
  }

  close(): void {
    this.deadlines.stop();
    this.agent.destroy();
  }
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
