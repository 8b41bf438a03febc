import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { advertisedHost } from '../../src/config/advertise.js';

function address(address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo {
  const common = { address, netmask: '', mac: '00:00:00:00:00:00', internal, cidr: null };
  return family === 'IPv4' ? { ...common, family } : { ...common, family, scopeid: 0 };
}

const INTERFACES = {
  lo: [address('127.0.0.1', 'IPv4', true), address('::1', 'IPv6', true)],
  eth0: [address('fe80::1', 'IPv6'), address('2001:db8::5', 'IPv6'), address('10.0.0.5', 'IPv4')],
};

describe('advertisedHost', () => {
  it('is the advertised address when one is set', () => {
    expect(advertisedHost('0.0.0.0', 'node-a.internal', INTERFACES)).toBe('node-a.internal');
  });

  it('is the bind host when that is an address peers can use', () => {
    expect(advertisedHost('127.0.0.1', undefined, INTERFACES)).toBe('127.0.0.1');
    expect(advertisedHost('10.0.0.5', undefined, INTERFACES)).toBe('10.0.0.5');
  });

  it('is an external interface address, IPv4 first, when bound to all', () => {
    expect(advertisedHost('0.0.0.0', undefined, INTERFACES)).toBe('10.0.0.5');
    expect(
      advertisedHost('::', undefined, { eth0: [address('fe80::1', 'IPv6'), address('2001:db8::5', 'IPv6')] }),
    ).toBe('2001:db8::5');
    expect(advertisedHost('0.0.0.0', undefined, { lo: INTERFACES.lo })).toBe('127.0.0.1');
  });
});
