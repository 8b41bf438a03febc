import { networkInterfaces } from 'node:os';
import type { NetworkInterfaceInfo } from 'node:os';

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '']);

/**
 * The host this node registers for its peers: the advertised address when one is set, else the
 * bind host, unless that is a wildcard (nobody can connect to 0.0.0.0): then the first external
 * interface address, IPv4 first, and loopback when the machine has no other.
 */
export function advertisedHost(
  bindHost: string,
  advertiseAddress: string | undefined,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string {
  if (advertiseAddress !== undefined) return advertiseAddress;
  if (!WILDCARDS.has(bindHost)) return bindHost;
  const external = Object.values(interfaces)
    .flatMap((addresses) => addresses ?? [])
    .filter((address) => !address.internal);
  const preferred =
    external.find((address) => address.family === 'IPv4') ??
    // A link-local IPv6 address needs a zone to be reachable: only a global one will do.
    external.find((address) => address.family === 'IPv6' && !address.address.startsWith('fe80:'));
  if (preferred) return preferred.address;
  return bindHost === '::' || bindHost === '[::]' ? '::1' : '127.0.0.1';
}
