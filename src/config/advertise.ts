import { isIP } from 'node:net';
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

const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** The RATELIMITER_ADVERTISE_ADDRESS setting: a host name or an IP address peers can reach. */
export function advertiseAddress(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  if (text === '0.0.0.0' || text === '::')
    throw new RangeError('must be an address peers can reach, not a wildcard');
  if (isIP(text) === 0 && !HOST_NAME.test(text)) {
    throw new RangeError(`must be a host name or an IP address (no scheme, no port), got "${text}"`);
  }
  return text;
}
