import { describe, expect, it } from 'vitest';
import { HttpError } from '../../src/http/errors.js';
import { parseJsonBody } from '../../src/http/json-body.js';

function refusal(body: Buffer | string): HttpError {
  try {
    parseJsonBody(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('parseJsonBody', () => {
  it('parses JSON', () => {
    expect(parseJsonBody(Buffer.from('{"key":"é","limit":1}'))).toEqual({ key: 'é', limit: 1 });
  });

  it('refuses invalid UTF-8 before it could become U+FFFD', () => {
    for (const byte of [0xe9, 0xe8, 0xff]) {
      const body = Buffer.concat([Buffer.from('{"key":"k'), Buffer.from([byte]), Buffer.from('"}')]);
      expect(refusal(body)).toMatchObject({ statusCode: 400, field: 'body', message: /not valid UTF-8/ });
    }
  });

  it('says where the JSON breaks, never what it says', () => {
    const error = refusal('{"key":"alice@example.com","limit":1,');
    expect(error.message).toMatch(/^body is not valid JSON/);
    expect(error.message).not.toContain('alice');
    expect(refusal('')).toMatchObject({ field: 'body', message: /empty/ });
  });

  it('names a prototype key and where it is', () => {
    expect(refusal('{"key":"k","__proto__":{"x":1}}')).toMatchObject({
      field: '__proto__',
      message: 'the key "__proto__" is refused: it could reach an object prototype',
    });
    expect(refusal('{"checks":[{"key":"k"},{"constructor":{"prototype":{}}}]}')).toMatchObject({
      field: 'checks[1].constructor',
    });
    // An escaped spelling is the same key once parsed.
    expect(refusal('{"\\u005f_proto__":1}')).toMatchObject({ field: '__proto__' });
  });
});
