import { describe, expect, it } from 'vitest';
import { redactSecrets, serializeError } from '../../src/logging/redact.js';

describe('redactSecrets', () => {
  it.each([
    ['redis://svc-user:hunter2@h:6379/0', 'redis://svc-user:[redacted]@h:6379/0'],
    ['rediss://:p@ss@h:1', 'rediss://:[redacted]@h:1'],
    ['error: redis://default:hunter2 is bad', 'error: redis://[redacted] is bad'],
    ['redis://:hunter2', 'redis://[redacted]'],
    [
      'redis+sentinel://s:1/m?sentinelPassword=hunter2&db=1',
      'redis+sentinel://s:1/m?sentinelPassword=[redacted]&db=1',
    ],
    [
      "ERR unknown command 'evalsha', with args beginning with: 'k'",
      "ERR unknown command 'evalsha', with args beginning with: [redacted]",
    ],
  ])('%s', (text, redacted) => {
    expect(redactSecrets(text)).toBe(redacted);
  });

  it('leaves URLs without a secret as they are', () => {
    for (const url of [
      'redis://h:6379',
      'redis+cluster://h1:1,h2:2',
      'http://[::1]:80/x',
      'redis://user@h:1',
    ]) {
      expect(redactSecrets(url)).toBe(url);
    }
  });
});

describe('serializeError', () => {
  it('keeps the command name, never its arguments, along the cause chain', () => {
    const auth = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
      command: { name: 'auth', args: ['svc-user', 'hunter2'] },
      code: 'WRONGPASS',
    });
    const wrapped = new Error('node registry: WRONGPASS', { cause: auth });
    const serialized = serializeError(wrapped);
    expect(JSON.stringify(serialized)).not.toContain('hunter2');
    expect(serialized.cause).toMatchObject({ command: 'auth', code: 'WRONGPASS', type: 'Error' });
    expect(serialized).toMatchObject({ type: 'Error', message: 'node registry: WRONGPASS' });
  });

  it('redacts URLs in messages and stacks, and takes non-errors', () => {
    const error = new Error('cannot reach redis://u:hunter2@h:1');
    expect(JSON.stringify(serializeError(error))).not.toContain('hunter2');
    expect(serializeError('redis://u:hunter2@h:1')).toMatchObject({ message: 'redis://u:[redacted]@h:1' });
  });
});
