import { isIP, isIPv6 } from 'node:net';

/** What a client owns of the IPv6 space, usually: a /64 at least, often a /56. */
export const DEFAULT_IPV6_SUBNET = 56;

const PORTED_IPV4 = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/;
const BRACKETED_IPV6 = /^\[([^\]]+)\](?::(\d{1,5}))?$/;

function isPort(text: string | undefined): boolean {
  return text === undefined || (Number(text) >= 1 && Number(text) <= 65535);
}

/**
 * The address of a hop as proxies write it (`a.b.c.d`, `a.b.c.d:port`, an IPv6 address, `[v6]`,
 * `[v6]:port`), without its port; undefined for anything else. The port goes: it names the
 * client's connection, not the client, and keeping it would give each new connection a new quota.
 */
export function hopAddress(text: string): string | undefined {
  const hop = text.trim();
  if (isIP(hop) !== 0) return hop;
  const ported = PORTED_IPV4.exec(hop) ?? BRACKETED_IPV6.exec(hop);
  const address = ported?.[1];
  if (address === undefined || !isPort(ported?.[2])) return undefined;
  return isIP(address) !== 0 ? address : undefined;
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, an embedded IPv4 tail converted). */
function groups(address: string): number[] {
  const [head = '', tail] = address.split('::');
  const parse = (part: string) => {
    if (part === '') return [];
    const pieces = part.split(':');
    const last = pieces.at(-1) ?? '';
    if (last.includes('.')) {
      const [a = 0, b = 0, c = 0, d = 0] = last.split('.').map(Number);
      pieces.splice(-1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
    }
    return pieces.map((piece) => parseInt(piece, 16));
  };
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/**
 * The key a client address stands for: an IPv4 address as it is (an IPv4-mapped IPv6 address as
 * its IPv4), an IPv6 address as its /`subnet` prefix, because one client can take any address of
 * its own subnet and would otherwise get a fresh quota with each. `subnet: false` keeps it whole.
 */
export function clientAddressKey(address: string, subnet: number | false = DEFAULT_IPV6_SUBNET): string {
  const hop = hopAddress(address);
  if (hop === undefined) return address;
  const zoneless = hop.split('%')[0] ?? hop;
  if (!isIPv6(zoneless)) return zoneless;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(zoneless);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (subnet === false || subnet >= 128) return zoneless.toLowerCase();
  const bits = groups(zoneless);
  const masked = bits.map((group, index) => {
    const keep = Math.min(16, Math.max(0, subnet - index * 16));
    return keep === 0 ? 0 : group & (0xffff << (16 - keep)) & 0xffff;
  });
  return `${masked.map((group) => group.toString(16)).join(':')}/${subnet}`;
}
