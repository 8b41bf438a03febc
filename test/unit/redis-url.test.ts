import { describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { createRedisClient } from '../../src/stores/redis/connect.js';
import { RedisUrlError, parseRedisUrl, redactRedisUrl } from '../../src/stores/redis/redis-url.js';

describe('parseRedisUrl', () => {
  it('reads a single node with credentials and a database', () => {
    expect(parseRedisUrl('redis://app:s3cret@cache.internal:6380/2')).toEqual({
      kind: 'single',
      node: { host: 'cache.internal', port: 6380 },
      db: 2,
      username: 'app',
      password: 's3cret',
      tls: false,
    });
    expect(parseRedisUrl('redis://127.0.0.1')).toEqual({
      kind: 'single',
      node: { host: '127.0.0.1', port: 6379 },
      db: 0,
      tls: false,
    });
  });

  it('turns TLS on for rediss:// and for ?tls=true', () => {
    expect(parseRedisUrl('rediss://:pw@h:6379')).toMatchObject({ kind: 'single', tls: true, password: 'pw' });
    expect(parseRedisUrl('redis+cluster://h1:7000?tls=true')).toMatchObject({ tls: true });
    expect(parseRedisUrl('redis+cluster://h1:7000?tls=false')).toMatchObject({ tls: false });
  });

  it('reads cluster seed nodes, IPv6 included', () => {
    expect(parseRedisUrl('redis+cluster://u:p@10.0.0.1:7000,[::1]:7001,node-c')).toEqual({
      kind: 'cluster',
      seeds: [
        { host: '10.0.0.1', port: 7000 },
        { host: '::1', port: 7001 },
        { host: 'node-c', port: 6379 },
      ],
      username: 'u',
      password: 'p',
      tls: false,
    });
  });

  it('reads sentinels, the master name and the query parameters', () => {
    expect(
      parseRedisUrl('redis+sentinel://:data%40pw@s1:26379,s2/mymaster?sentinelPassword=sp%26x&db=3'),
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      masterName: 'mymaster',
      db: 3,
      password: 'data@pw',
      sentinelPassword: 'sp&x',
      tls: false,
    });
  });

  it('takes a password holding unencoded "@", "/" and ":"', () => {
    expect(parseRedisUrl('redis://user:p@ss/w:rd@host:1')).toMatchObject({
      username: 'user',
      password: 'p@ss/w:rd',
      node: { host: 'host', port: 1 },
    });
  });

  const refused: [string, string, RegExp][] = [
    ['no scheme', 'localhost:6379', /expected <scheme>:\/\//],
    ['an unsupported scheme', 'http://h:1', /unsupported scheme "http"/],
    ['no host', 'redis://', /no host/],
    ['a port that is not a number', 'redis://h:abc', /the port of the host is not an integer in 1\.\.65535/],
    ['a port out of range', 'redis+cluster://h1:7000,h2:70000', /the port of host 2 of 2 is not an integer/],
    ['port 0', 'redis://h:0', /the port of the host is not/],
    ['an empty host', 'redis+cluster://h1:1,:2', /host 2 of 2 is missing/],
    ['a bad host', 'redis://u:p@h_1:1', /the host is not a host name/],
    ['two hosts on redis://', 'redis://h1:1,h2:2', /exactly one host/],
    ['a bad database', 'redis://h:1/x', /bad database in the path/],
    ['a path on a cluster', 'redis+cluster://h:1/0', /takes no path/],
    ['a sentinel URL without master name', 'redis+sentinel://s1:26379', /needs the master name/],
    ['a sentinel URL with "/" only', 'redis+sentinel://s1:26379/', /needs the master name/],
    ['a bad master name', 'redis+sentinel://s1/a b', /master name/],
    ['a bad sentinel db', 'redis+sentinel://s1/m?db=-1', /bad database in the db parameter/],
    ['an unknown parameter', 'redis+cluster://h:1?scaleReads=all', /unknown query parameter "scaleReads"/],
    ['a parameter on redis://', 'redis://h:1?tls=true', /accepted here: none/],
    ['a repeated parameter', 'redis+cluster://h:1?tls=true&tls=false', /given twice/],
    ['a bad boolean', 'redis+cluster://h:1?tls=yes', /must be true or false/],
    ['a fragment', 'redis://h:1#x', /no fragment/],
  ];
  it.each(refused)('refuses %s, naming what is wrong', (_, url, reason) => {
    expect(() => parseRedisUrl(url)).toThrow(RedisUrlError);
    expect(() => parseRedisUrl(url)).toThrow(reason);
  });

  it('never puts a password in an error message', () => {
    const secret = 'TOPSECRET';
    const urls = [
      `redis://user:${secret}@h:notaport`,
      `redis://user:${secret}%zz@h:1`,
      `redis+cluster://:${secret}@h:1/0`,
      `redis+sentinel://:${secret}@s1/?sentinelPassword=${secret}`,
      `redis+sentinel://s1/m?sentinelPassword=${secret}&db=x`,
      `redis://:${secret}@h1:1,h2:2`,
      // No "@": the password is where a port or a host would be (issue 9).
      `redis://default:${secret}`,
      `redis://:${secret}`,
      `redis://default:123456789`,
      `redis+cluster://h1:1,default:${secret}`,
      `redis://${secret}_x`,
    ];
    for (const url of urls) {
      const error: unknown = (() => {
        try {
          parseRedisUrl(url);
        } catch (thrown) {
          return thrown;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(RedisUrlError);
      expect((error as Error).message).not.toContain(secret);
      expect((error as Error).message).not.toContain('123456789');
    }
  });
});

describe('redactRedisUrl', () => {
  it('hides the password and the sentinel password, and keeps the rest', () => {
    expect(redactRedisUrl('redis://user:pw@h:1/2')).toBe('redis://user:***@h:1/2');
    expect(redactRedisUrl('redis+cluster://:p@w@h1:1,h2:2')).toBe('redis+cluster://:***@h1:1,h2:2');
    expect(redactRedisUrl('redis+sentinel://s1/m?db=1&sentinelPassword=x&tls=true')).toBe(
      'redis+sentinel://s1/m?db=1&sentinelPassword=***&tls=true',
    );
    expect(redactRedisUrl('redis://h:1')).toBe('redis://h:1');
    expect(redactRedisUrl('redis://user@h:1')).toBe('redis://user@h:1');
    expect(redactRedisUrl('redis://default:secret')).toBe('redis://***');
    expect(redactRedisUrl('redis://:secret/0')).toBe('redis://***/0');
    expect(redactRedisUrl('redis://u:p@ss@h:1')).toBe('redis://u:***@h:1');
  });
});

describe('createRedisClient', () => {
  const bounded = {
    lazyConnect: true,
    commandTimeout: 50,
    enableOfflineQueue: false,
    retryStrategy: () => 2000,
  };

  it('makes a Redis client for a single node and for Sentinel, a Cluster for redis+cluster://', () => {
    const single = createRedisClient('redis://u:p@127.0.0.1:7/1', bounded, 50);
    const cluster = createRedisClient('redis+cluster://u:p@127.0.0.1:7,127.0.0.1:8?tls=true', bounded, 50);
    const sentinel = createRedisClient('redis+sentinel://127.0.0.1:9/main?sentinelPassword=sp', bounded, 50);
    try {
      expect(single).toBeInstanceOf(Redis);
      expect(single.options).toMatchObject({
        host: '127.0.0.1',
        port: 7,
        db: 1,
        username: 'u',
        password: 'p',
      });
      expect(cluster).toBeInstanceOf(Cluster);
      expect((cluster as Cluster).options).toMatchObject({
        enableOfflineQueue: false,
        scaleReads: 'master',
        retryDelayOnFailover: 12,
        redisOptions: { username: 'u', password: 'p', tls: {}, commandTimeout: 50 },
      });
      expect(sentinel).toBeInstanceOf(Redis);
      expect(sentinel.options).toMatchObject({
        name: 'main',
        role: 'master',
        sentinels: [{ host: '127.0.0.1', port: 9 }],
        sentinelPassword: 'sp',
        enableOfflineQueue: false,
      });
      // Each reconnect asks the sentinels anew, so a promoted replica is found within the cap.
      expect((sentinel as Redis).options.retryStrategy?.(10)).toBe(500);
      expect((single as Redis).options.retryStrategy?.(10)).toBe(2000);
    } finally {
      single.disconnect();
      cluster.disconnect();
      sentinel.disconnect();
    }
  });

  it('revives a Sentinel client that ioredis ends on its own, never one its owner closed', async () => {
    const options = { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => 1000 };
    const ended = createRedisClient('redis+sentinel://127.0.0.1:1/main', options, 50) as Redis;
    const closed = createRedisClient('redis+sentinel://127.0.0.1:1/main', options, 50) as Redis;
    ended.on('error', () => undefined);
    try {
      closed.disconnect();
      // What ioredis does when +switch-master aborts a reconnect attempt: status "end", no retry.
      ended.status = 'end';
      ended.emit('end');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(ended.status).not.toBe('end');
      expect(closed.status).toBe('end');
    } finally {
      ended.disconnect();
    }
  });

  it('refuses a bad URL before creating anything', () => {
    expect(() => createRedisClient('redis+sentinel://s1', bounded, 50)).toThrow(/master name/);
  });
});
