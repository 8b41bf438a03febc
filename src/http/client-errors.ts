import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorBody } from '../protocol/errors.js';
import { MAX_HEADER_COUNT } from '../protocol/limits.js';
import type { ErrorBody } from '../protocol/errors.js';

/** What a request that Node's HTTP parser refused gets: our error shape, the status it deserves. */
export interface ParserRefusal {
  statusCode: number;
  body: ErrorBody;
  /** For the metric and the log: a small fixed set. */
  kind: 'bad_request' | 'headers_too_large' | 'request_timeout';
}

/** llhttp's error codes, by what the client got wrong. */
const PARSER_ERRORS: Record<string, { field: string; message: string }> = {
  HPE_INVALID_CHUNK_SIZE: {
    field: 'transfer-encoding',
    message: 'a chunk size of the chunked body is malformed',
  },
  HPE_INVALID_TRANSFER_ENCODING: {
    field: 'transfer-encoding',
    message: 'Transfer-Encoding is malformed, or sent together with Content-Length',
  },
  HPE_UNEXPECTED_CONTENT_LENGTH: {
    field: 'content-length',
    message: 'Content-Length is given twice, or together with Transfer-Encoding',
  },
  HPE_INVALID_CONTENT_LENGTH: { field: 'content-length', message: 'Content-Length is not a number' },
  HPE_INVALID_EOF_STATE: {
    field: 'body',
    message: 'the connection was closed before the whole body (Content-Length) was sent',
  },
  HPE_INVALID_HEADER_TOKEN: {
    field: 'headers',
    message: 'a header name or value holds a character HTTP does not allow (NUL, a control character)',
  },
  HPE_LF_EXPECTED: { field: 'headers', message: 'a line does not end with CRLF' },
  HPE_CR_EXPECTED: { field: 'headers', message: 'a line does not end with CRLF' },
  HPE_INVALID_METHOD: { field: 'request line', message: 'the request line has no valid HTTP method' },
  HPE_INVALID_URL: { field: 'request line', message: 'the request line has no valid target' },
  HPE_INVALID_VERSION: { field: 'request line', message: 'the request line has no valid HTTP version' },
  HPE_INVALID_CONSTANT: { field: 'request line', message: 'the request line is malformed' },
  HPE_INVALID_STATUS: { field: 'request line', message: 'the request line is malformed' },
};

function refusal(
  statusCode: number,
  code: string,
  message: string,
  field: string,
  kind: ParserRefusal['kind'],
): ParserRefusal {
  return { statusCode, body: errorBody(code, message, field), kind };
}

/** Node's `clientError` (an HTTP parse error or a timeout), as the reply we send. Pure. */
export function mapClientError(error: { code?: string }, requestTimeoutMs: number): ParserRefusal {
  const code = error.code ?? '';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return refusal(
      408,
      'request_timeout',
      `the request was not received in time (headers and body within ${requestTimeoutMs} ms)`,
      'request',
      'request_timeout',
    );
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return refusal(
      431,
      'headers_too_large',
      'the request line and headers together exceed the 16 KiB the server accepts',
      'headers',
      'headers_too_large',
    );
  }
  const known = PARSER_ERRORS[code];
  if (known) return refusal(400, 'invalid_argument', known.message, known.field, 'bad_request');
  return refusal(400, 'invalid_argument', 'the request is not valid HTTP/1.1', 'request', 'bad_request');
}

/**
 * A request whose header lines reach MAX_HEADER_COUNT: Node dropped any past it (perhaps the
 * X-Forwarded-For a proxy appended last), so nothing may be decided on what is left.
 */
export const TOO_MANY_HEADERS: ParserRefusal = refusal(
  431,
  'headers_too_large',
  `the request has ${MAX_HEADER_COUNT} header lines or more, the most the server reads`,
  'headers',
  'headers_too_large',
);

/** Whether Node may have dropped some of the request's headers (it keeps MAX_HEADER_COUNT). */
export function reachesHeaderCount(request: IncomingMessage): boolean {
  return request.rawHeaders.length >= 2 * MAX_HEADER_COUNT;
}

function rawReply({ statusCode, body }: Pick<ParserRefusal, 'statusCode' | 'body'>): string {
  const json = JSON.stringify(body);
  const reason = STATUS_CODES[statusCode] ?? 'Error';
  return (
    `HTTP/1.1 ${statusCode} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`
  );
}

/** A response already under way on this socket: its status line is out, ours cannot follow. */
function responseStarted(socket: Socket): boolean {
  const current = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  return current?.headersSent === true;
}

/**
 * Fastify's `clientErrorHandler`: answer every parser refusal and timeout in our error shape (not
 * Fastify's `{"error":"Bad Request","message":"Client Error"}`), then close the connection.
 */
export function clientErrorHandler(
  requestTimeoutMs: number,
  onRefusal: (refusal: ParserRefusal, error: Error) => void,
): (error: Error & { code?: string }, socket: Socket) => void {
  return function handleClientError(error, socket) {
    // A reset connection has nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const mapped = mapClientError(error, requestTimeoutMs);
    onRefusal(mapped, error);
    if (socket.writable && !responseStarted(socket)) socket.end(rawReply(mapped));
    else socket.destroy();
  };
}

/**
 * `Expect` values other than `100-continue`: Node answers 417 with an empty body by itself unless
 * someone listens; answer in our shape instead.
 */
export function answerUnknownExpectation(request: IncomingMessage, response: ServerResponse): void {
  const json = JSON.stringify(
    errorBody('expectation_failed', 'the only Expect this server meets is 100-continue', 'expect'),
  );
  response.writeHead(417, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    connection: 'close',
  });
  response.end(json);
  // The body (if any) is not read: close rather than parse it as the next request.
  request.socket.destroySoon();
}
