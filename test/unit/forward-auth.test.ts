import { describe, expect, it } from 'vitest';
import {
  clientAddress,
  descriptorsOf,
  parseDescriptorSpec,
  parseTrustedProxies,
} from '../../src/http/forward-auth.js';

const loopback = parseTrustedProxies('127.0.0.0/8,::1/128');

describe('forward-auth client address', () => {
  it('from an untrusted peer: the peer, whatever its headers say', () => {
    const request = {
      peer: '203.0.113.5',
      method: 'GET',
      headers: { 'x-forwarded-for': '1.2.3.4', 'x-real-ip': '5.6.7.8' },
    };
    expect(clientAddress(request, loopback)).toBe('203.0.113.5');
  });

  it('from a trusted proxy: the nearest untrusted hop of X-Forwarded-For, not what the client wrote on the left', () => {
    const headers = { 'x-forwarded-for': '6.6.6.6, 203.0.113.9, 127.0.0.1' };
    expect(clientAddress({ peer: '127.0.0.1', method: 'GET', headers }, loopback)).toBe('203.0.113.9');
    const all = parseTrustedProxies('127.0.0.1, 203.0.113.0/24');
    expect(clientAddress({ peer: '127.0.0.1', method: 'GET', headers }, all)).toBe('6.6.6.6');
  });

  it('falls back to X-Real-IP, then the peer; maps IPv4-in-IPv6 peers', () => {
    expect(
      clientAddress(
        { peer: '::ffff:127.0.0.1', method: 'GET', headers: { 'x-real-ip': '198.51.100.1' } },
        loopback,
      ),
    ).toBe('198.51.100.1');
    expect(clientAddress({ peer: '::ffff:127.0.0.1', method: 'GET', headers: {} }, loopback)).toBe(
      '127.0.0.1',
    );
    expect(
      clientAddress(
        { peer: '::1', method: 'GET', headers: { 'x-forwarded-for': 'junk, 2001:db8::1' } },
        loopback,
      ),
    ).toBe('2001:db8::1');
  });

  it('reads hops written with a port (ip:port, [v6]:port): a proxy that adds the port is still a hop, not skipped', () => {
    // Before: the ported hop was not an address, so the walk went on left to what the client wrote.
    const ported = { 'x-forwarded-for': '6.6.6.6, 203.0.113.9:4711' };
    expect(clientAddress({ peer: '127.0.0.1', method: 'GET', headers: ported }, loopback)).toBe(
      '203.0.113.9',
    );
    const v6 = { 'x-forwarded-for': '6.6.6.6, [2001:db8::9]:4711' };
    expect(clientAddress({ peer: '::1', method: 'GET', headers: v6 }, loopback)).toBe('2001:db8::9');
    const bracketed = { 'x-forwarded-for': '6.6.6.6, [2001:db8::9]' };
    expect(clientAddress({ peer: '::1', method: 'GET', headers: bracketed }, loopback)).toBe('2001:db8::9');
    // A trusted proxy written with its port is recognised as trusted, and walked past.
    const trusted = parseTrustedProxies('127.0.0.1, 10.30.0.0/16');
    const chain = { 'x-forwarded-for': '6.6.6.6, 203.0.113.9:1000, 10.30.0.8:5555' };
    expect(clientAddress({ peer: '127.0.0.1', method: 'GET', headers: chain }, trusted)).toBe('203.0.113.9');
  });

  it('stops at a hop it cannot read: the proxy that wrote it is the client, never what lies left of it', () => {
    const trusted = parseTrustedProxies('127.0.0.1, 10.30.0.0/16');
    const junk = { 'x-forwarded-for': '6.6.6.6, unknown, 10.30.0.8' };
    expect(clientAddress({ peer: '127.0.0.1', method: 'GET', headers: junk }, trusted)).toBe('10.30.0.8');
    const peerWroteJunk = { 'x-forwarded-for': '6.6.6.6, 1.2.3.4:99999' };
    expect(clientAddress({ peer: '127.0.0.1', method: 'GET', headers: peerWroteJunk }, loopback)).toBe(
      '127.0.0.1',
    );
  });

  it('trusts no one with "none"', () => {
    const request = { peer: '127.0.0.1', method: 'GET', headers: { 'x-forwarded-for': '1.2.3.4' } };
    expect(clientAddress(request, parseTrustedProxies('none'))).toBe('127.0.0.1');
  });

  it('refuses what is not an address or a range', () => {
    expect(() => parseTrustedProxies('localhost')).toThrow(/not an IP address/);
    expect(() => parseTrustedProxies('10.0.0.0/33')).toThrow(/prefix length/);
  });
});

describe('forward-auth descriptors', () => {
  const request = {
    peer: '127.0.0.1',
    method: 'GET',
    headers: {
      'x-forwarded-for': '203.0.113.1',
      'x-api-key': 'k1',
      'x-forwarded-uri': '/orders?id=3',
      host: 'shop',
    },
  };

  it('builds one descriptor per ";" and one entry per ",", keyed by the source or the given key', () => {
    const spec = parseDescriptorSpec('remote_address; tenant=header:X-Api-Key, path; host, method');
    expect(descriptorsOf(request, spec, loopback)).toEqual([
      { entries: [{ key: 'remote_address', value: '203.0.113.1' }] },
      {
        entries: [
          { key: 'tenant', value: 'k1' },
          { key: 'path', value: '/orders' },
        ],
      },
      {
        entries: [
          { key: 'host', value: 'shop' },
          { key: 'method', value: 'GET' },
        ],
      },
    ]);
  });

  it('leaves out a descriptor whose header was not sent, as Envoy does', () => {
    expect(descriptorsOf(request, parseDescriptorSpec('header:x-missing; remote_address'), loopback)).toEqual(
      [{ entries: [{ key: 'remote_address', value: '203.0.113.1' }] }],
    );
  });

  it('refuses unknown sources and bad keys', () => {
    expect(() => parseDescriptorSpec('cookie:x')).toThrow(/unknown descriptor source/);
    expect(() => parseDescriptorSpec('a b=path')).toThrow(/descriptor key/);
  });
});
