import http from 'node:http';
import https from 'node:https';
import { StoreUnavailableError } from '../../core/errors.js';

export interface HttpReply {
  status: number;
  body: unknown;
  /** The Retry-After header in seconds, when the reply had a valid one. */
  retryAfterS: number | undefined;
}

export interface JsonClientOptions {
  baseUrl: string;
  /** Bound on every call, connection included. */
  timeoutMs: number;
  /** Most connections kept open to the service. */
  maxSockets: number;
}

/**
 * JSON over HTTP/1.1 with keep-alive on Node's own agent (no dependency): one call is one request
 * on a reused connection, bounded by a timeout after which it fails with StoreUnavailableError.
 */
export class JsonClient {
  private readonly agent: http.Agent;
  private readonly base: URL;
  private readonly transport: typeof http | typeof https;

  constructor(private readonly options: JsonClientOptions) {
    this.base = new URL(options.baseUrl);
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') {
      throw new RangeError('the service url must be http:// or https://');
    }
    this.transport = this.base.protocol === 'https:' ? https : http;
    const AgentClass = this.base.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new AgentClass({ keepAlive: true, maxSockets: options.maxSockets, scheduling: 'lifo' });
  }

  /** Where the service is, without credentials, for error messages. */
  get origin(): string {
    return this.base.origin;
  }

  request(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<HttpReply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const { timeoutMs } = this.options;
    return new Promise<HttpReply>((resolve, reject) => {
      const fail = (reason: string, cause?: unknown) => {
        reject(new StoreUnavailableError(`the service at ${this.origin} ${reason}`, { cause }));
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
            fail(`broke off its reply: ${error.message}`, error);
          });
          response.on('end', () => {
            clearTimeout(timer);
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
      const timer = setTimeout(() => {
        request.destroy();
        fail(`did not answer within ${timeoutMs}ms`);
      }, timeoutMs);
      request.on('error', (error) => {
        clearTimeout(timer);
        fail(`is unreachable: ${error.message}`, error);
      });
      request.end(payload);
    });
  }

  close(): void {
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
