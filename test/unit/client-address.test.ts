import { describe, expect, it } from 'vitest';
import { clientAddressKey } from '../../src/adapters/shared/client-address.js';

describe('clientAddressKey', () => {
  it('keeps an IPv4 address, and unwraps an IPv4-mapped one', () => {
    expect(clientAddressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientAddressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('keys IPv6 by its /56: addresses of one subnet share a key, the next subnet does not', () => {
    const a = clientAddressKey('2001:db8:abcd:12ff:1:2:3:4');
    expect(a).toBe('2001:db8:abcd:1200:0:0:0:0/56');
    expect(clientAddressKey('2001:db8:abcd:1200::99')).toBe(a);
    expect(clientAddressKey('2001:DB8:ABCD:12AB::1')).toBe(a);
    expect(clientAddressKey('2001:db8:abcd:1300::1')).not.toBe(a);
  });

  it('takes another subnet, or none', () => {
    expect(clientAddressKey('2001:db8::1:2:3:4', 64)).toBe('2001:db8:0:0:0:0:0:0/64');
    expect(clientAddressKey('::1', false)).toBe('::1');
    expect(clientAddressKey('::1')).toBe('0:0:0:0:0:0:0:0/56');
    expect(clientAddressKey('fe80::1%eth0', 64)).toBe('fe80:0:0:0:0:0:0:0/64');
  });

  it('drops the port of ip:port and [v6]:port (req.ip behind a proxy that writes ports), so a new source port is not a new quota', () => {
    expect(clientAddressKey('203.0.113.7:4711')).toBe('203.0.113.7');
    expect(clientAddressKey('[2001:db8:abcd:12ff::1]:4711')).toBe('2001:db8:abcd:1200:0:0:0:0/56');
    expect(clientAddressKey('[2001:db8::1]', false)).toBe('2001:db8::1');
    expect(clientAddressKey('[::ffff:203.0.113.7]:80')).toBe('203.0.113.7');
  });

  it('leaves what is not an address alone', () => {
    expect(clientAddressKey('unknown')).toBe('unknown');
  });
});
