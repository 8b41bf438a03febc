import { createConnection } from 'node:net';
import type { Socket } from 'node:net';

/*
 * HTTP/2 written by hand, for what no well-behaved client does: ignore the server's stream cap,
 * never read (window 0), send a malformed frame, or say nothing at all.
 */

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7 } as const;
export const SETTING = { MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4 } as const;
export const ERROR = { REFUSED_STREAM: 7, ENHANCE_YOUR_CALM: 11 } as const;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

export function settingsFrame(settings: [number, number][]): Buffer {
  const payload = Buffer.alloc(6 * settings.length);
  settings.forEach(([id, value], index) => {
    payload.writeUInt16BE(id, index * 6);
    payload.writeUInt32BE(value, index * 6 + 2);
  });
  return frame(FRAME.SETTINGS, 0, 0, payload);
}

/** HPACK integer with an N-bit prefix (RFC 7541 5.1). */
function hpackInteger(value: number, prefixBits: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([value]);
  const bytes = [max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([hpackInteger(bytes.length, 7), bytes]);
}

/** A gRPC call's request headers, each a literal without indexing (no table state to keep). */
function grpcRequestHeaders(path: string): Buffer {
  const headers: [string, string][] = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', path],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ];
  return Buffer.concat(
    headers.map(([name, value]) => Buffer.concat([Buffer.from([0]), hpackString(name), hpackString(value)])),
  );
}

/** One whole unary call on `stream`: headers, then the message with END_STREAM. */
export function grpcCall(stream: number, path: string, message: Buffer): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([
    frame(FRAME.HEADERS, FLAG_END_HEADERS, stream, grpcRequestHeaders(path)),
    frame(FRAME.DATA, FLAG_END_STREAM, stream, Buffer.concat([prefix, message])),
  ]);
}

/** grpc.health.v1.Health/Check for the whole server (an empty request). */
export const HEALTH_CHECK = '/grpc.health.v1.Health/Check';

/** A raw connection that records every frame the server sends, and when it closed. */
export class RawH2Connection {
  readonly frames: Frame[] = [];
  closedAfterMs: number | undefined;
  private received = Buffer.alloc(0);
  private readonly openedAt = performance.now();
  private readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.parse();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedAfterMs = performance.now() - this.openedAt;
        resolve();
      }),
    );
  }

  /** Connect; with `preface`, send the client preface and `settings` (the server's are not acked). */
  static async open(
    port: number,
    options: { preface?: boolean; settings?: [number, number][] } = {},
  ): Promise<RawH2Connection> {
    const socket = createConnection({ port, host: '127.0.0.1' });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const connection = new RawH2Connection(socket);
    if (options.preface ?? true) connection.send(PREFACE, settingsFrame(options.settings ?? []));
    return connection;
  }

  send(...bytes: Buffer[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(bytes));
  }

  ackSettings(): void {
    this.send(frame(FRAME.SETTINGS, FLAG_ACK, 0));
  }

  /** Streams the server reset, by error code. */
  resets(code: number): number {
    return this.frames.filter((f) => f.type === FRAME.RST_STREAM && f.payload.readUInt32BE(0) === code)
      .length;
  }

  /** Streams the server answered with headers. */
  answered(): number {
    return new Set(this.frames.filter((f) => f.type === FRAME.HEADERS).map((f) => f.stream)).size;
  }

  /** The server acknowledged our SETTINGS (so it has read the preface). */
  settingsAcked(): boolean {
    return this.frames.some((f) => f.type === FRAME.SETTINGS && (f.flags & FLAG_ACK) !== 0);
  }

  goaway(): Frame | undefined {
    return this.frames.find((f) => f.type === FRAME.GOAWAY);
  }

  get isClosed(): boolean {
    return this.closedAfterMs !== undefined;
  }

  /** True once the server closed the connection, false if `ms` passed first. */
  async closedWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
    return this.isClosed;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private parse(): void {
    while (this.received.length >= 9) {
      const length = this.received.readUIntBE(0, 3);
      if (this.received.length < 9 + length) return;
      this.frames.push({
        type: this.received[3] ?? 0,
        flags: this.received[4] ?? 0,
        stream: this.received.readUInt32BE(5) & 0x7fffffff,
        payload: this.received.subarray(9, 9 + length),
      });
      this.received = this.received.subarray(9 + length);
    }
  }
}
