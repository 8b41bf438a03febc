import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/core/errors.js';
import {
  classifyRedisError,
  explainRedisError,
  isOfflineQueueRejection,
  redisUnavailable,
  safeText,
} from '../../src/stores/redis/redis-errors.js';

/** An error as ioredis hands it over: a reply error carries the command and every argument. */
function replyError(message: string, command?: { name: string; args: string[] }): Error {
  const error = new Error(message) as Error & { command?: unknown };
  error.name = 'ReplyError';
  if (command) error.command = command;
  return error;
}

function errno(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

const KEY = 'ratelimit:{alice@example.com}:swl2:10000';
const OFFLINE = new Error("Stream isn't writeable and enableOfflineQueue options is false");

describe('classifyRedisError', () => {
  const cases: [string, Error, string][] = [
    [
      'NOPERM (command)',
      replyError("NOPERM this user has no permissions to run the 'evalsha' command"),
      'noperm',
    ],
    [
      'NOPERM naming the key (Redis 7.2+)',
      replyError(`NOPERM User svc has no permissions to access the '${KEY}' key`),
      'noperm',
    ],
    [
      'OOM',
      replyError("OOM command not allowed when used memory > 'maxmemory'. script: abc, on @user_script:1."),
      'oom',
    ],
    ['READONLY', replyError("READONLY You can't write against a read only replica."), 'readonly'],
    ['WRONGPASS', replyError('WRONGPASS invalid username-password pair or user is disabled.'), 'wrongpass'],
    ['NOAUTH', replyError('NOAUTH Authentication required.'), 'noauth'],
    ['maxclients', replyError('ERR max number of clients reached'), 'maxclients'],
    [
      'a failed SELECT',
      replyError('ERR DB index is out of range', { name: 'select', args: ['100'] }),
      'select_failed',
    ],
    [
      'EVALSHA renamed away',
      replyError(`ERR unknown command 'evalsha', with args beginning with: 'abc' '1' '${KEY}' `),
      'unknown_command',
    ],
    [
      'WRONGTYPE',
      replyError('WRONGTYPE Operation against a key holding the wrong kind of value'),
      'wrongtype',
    ],
    ['LOADING', replyError('LOADING Redis is loading the dataset in memory'), 'loading'],
    ['BUSY', replyError('BUSY Redis is busy running a script.'), 'busy'],
    ['MASTERDOWN', replyError('MASTERDOWN Link with MASTER is down'), 'masterdown'],
    ['CLUSTERDOWN', replyError('CLUSTERDOWN Hash slot not served'), 'clusterdown'],
    [
      'a non-Redis peer',
      Object.assign(new Error('Protocol error, got "H" as reply type byte. Please report this.'), {
        name: 'ParserError',
      }),
      'not_redis',
    ],
    ['a refused connection', errno('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), 'refused'],
    ['a connect timeout', errno('connect ETIMEDOUT', 'ETIMEDOUT'), 'unreachable'],
    ['an unknown host', errno('getaddrinfo ENOTFOUND nowhere', 'ENOTFOUND'), 'unreachable'],
    ['a command timeout', new Error('Command timed out'), 'timeout'],
    [
      'a certificate that does not verify',
      errno('unable to verify the first certificate', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
      'tls',
    ],
    ['a closed connection', new Error('Connection is closed.'), 'closed'],
    ['anything else', replyError('ERR something new'), 'other'],
  ];

  it.each(cases)('names %s', (_, error, reason) => {
    const failure = classifyRedisError(error);
    expect(failure.reason).toBe(reason);
    expect(failure.message).not.toBe('');
  });

  it('never repeats a key or an argument Redis echoed', () => {
    for (const [, error] of cases) {
      expect(classifyRedisError(error).message).not.toContain('alice');
    }
    expect(classifyRedisError(replyError(`ERR weird '${KEY}'`)).message).not.toContain('alice');
  });

  it('names the database of a failed SELECT, and the command Redis does not know', () => {
    const select = replyError('ERR DB index is out of range', { name: 'select', args: ['100'] });
    expect(classifyRedisError(select).message).toMatch(/^SELECT 100 failed: .*REDIS_URL/);
    const renamed = replyError("ERR unknown command 'evalsha', with args beginning with: 'x'");
    expect(classifyRedisError(renamed).message).toMatch(/EVALSHA .*rename-command/);
  });
});

describe('explainRedisError', () => {
  it('turns "Stream isn\'t writeable" into the connection error that caused it', () => {
    expect(isOfflineQueueRejection(OFFLINE)).toBe(true);
    const maxclients = replyError('ERR max number of clients reached');
    expect(explainRedisError(OFFLINE, maxclients).reason).toBe('maxclients');
    expect(explainRedisError(OFFLINE, OFFLINE)).toEqual({
      reason: 'unreachable',
      message: 'not connected to Redis',
    });
    expect(explainRedisError(OFFLINE).message).not.toMatch(/enableOfflineQueue/);
  });

  it('makes a StoreUnavailableError with the reason and the cause', () => {
    const cause = replyError("OOM command not allowed when used memory > 'maxmemory'.");
    const error = redisUnavailable('redis call failed', cause);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ reason: 'oom', cause });
    expect(error.message).toMatch(/^redis call failed: OOM: /);
  });
});

describe('safeText', () => {
  it('drops quoted text and argument lists, and bounds the length', () => {
    expect(safeText(`ERR x 'a' "b" \`c\`, with args beginning with: 'k'`)).toBe('ERR x <…> <…> <…>');
    expect(safeText('e'.repeat(500)).length).toBeLessThanOrEqual(201);
  });
});
