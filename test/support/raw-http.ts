import { createConnection } from 'node:net';
import type { Socket } from 'node:net';

/** What came back on a raw connection: the status, the parsed JSON body (if any), and when it closed. */
export interface RawReply {
  status: number | undefined;
  headers: string;
  body: string;
  closed: boolean;
}

/** The port of a service URL such as http://127.0.0.1:8080. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/**
 * Send raw bytes (what no well-behaved client would send) and read until the server closes the
 * connection or `waitMs` passes. `halfClose` ends our side after sending.
 */
export function rawRequest(
  port: number,
  bytes: Buffer | string,
  options: { waitMs?: number; halfClose?: boolean } = {},
): Promise<RawReply> {
  const { waitMs = 2000, halfClose = false } = options;
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let received = Buffer.alloc(0);
    let closed = false;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseReply(received, closed));
    };
    const timer = setTimeout(finish, waitMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      finish();
    });
    socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes, () => {
      if (halfClose) socket.end();
    });
  });
}

function parseReply(received: Buffer, closed: boolean): RawReply {
  const text = received.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  const headers = split === -1 ? text : text.slice(0, split);
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(headers)?.[1];
  return {
    status: status === undefined ? undefined : Number(status),
    headers,
    body: split === -1 ? '' : text.slice(split + 4),
    closed,
  };
}

/** A connection that sends `bytes` and then nothing more, kept open until destroyed. */
export function stalledConnection(port: number, bytes = ''): Promise<Socket & { replies: string[] }> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' }) as Socket & { replies: string[] };
    socket.replies = [];
    socket.on('data', (chunk: Buffer) => socket.replies.push(chunk.toString('utf8')));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      if (bytes === '') resolve(socket);
      else
        socket.write(bytes, () => {
          resolve(socket);
        });
    });
    socket.once('error', reject);
  });
}
