import { isIPv6 } from 'node:net';

/** What a client owns of the IPv6 space, usually: a /64 at least, often a /56. */
export const DEFAULT_IPV6_SUBNET = 56;

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
  const zoneless = address.split('%')[0] ?? address;
  if (!isIPv6(zoneless)) return address;
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
