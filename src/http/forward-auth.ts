import { BlockList, isIP } from 'node:net';
import { hopAddress } from '../adapters/shared/client-address.js';
import type { DescriptorEntry } from '../rules/match.js';
import type { RateLimitDescriptor } from '../envoy/types.js';

/*
 * How `/v1/forward-auth` turns the proxied request into descriptors. A spec is a `;`-separated
 * list of descriptors, each a `,`-separated list of entries `[key=]source`, where source is
 * `remote_address`, `method`, `path`, `host` or `header:<name>`; the key defaults to the source
 * (the header's name for a header). Default: `remote_address`, one descriptor per client address,
 * the shape Envoy's `remote_address` action sends.
 */

export type EntrySource =
  { kind: 'remote_address' | 'method' | 'path' | 'host' } | { kind: 'header'; header: string };

export interface EntrySpec {
  key: string;
  source: EntrySource;
}

export type DescriptorSpec = readonly (readonly EntrySpec[])[];

export const DEFAULT_DESCRIPTOR_SPEC = 'remote_address';

/** Loopback only by default: the proxy in front usually runs beside the service. */
export const DEFAULT_TRUSTED_PROXIES = '127.0.0.0/8,::1/128';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const DESCRIPTOR_KEY = /^[A-Za-z0-9_.:-]{1,128}$/;
const MAX_SPEC_ENTRIES = 32;

function source(text: string): EntrySource {
  if (text === 'remote_address' || text === 'method' || text === 'path' || text === 'host')
    return { kind: text };
  const header = /^header:(.+)$/.exec(text)?.[1];
  if (header !== undefined && HEADER_NAME.test(header))
    return { kind: 'header', header: header.toLowerCase() };
  throw new RangeError(
    `unknown descriptor source "${text}": use remote_address, method, path, host or header:<name>`,
  );
}

/** Parse a spec; a RangeError says what is wrong (for the setting's or the query's error). */
export function parseDescriptorSpec(text: string): DescriptorSpec {
  const descriptors = text.split(';').map((descriptor) =>
    descriptor.split(',').map((entryText): EntrySpec => {
      const entry = entryText.trim();
      const equals = entry.indexOf('=');
      const sourceText = equals < 0 ? entry : entry.slice(equals + 1);
      const parsed = source(sourceText);
      const key =
        equals < 0 ? (parsed.kind === 'header' ? parsed.header : parsed.kind) : entry.slice(0, equals);
      if (!DESCRIPTOR_KEY.test(key))
        throw new RangeError(`descriptor key "${key}" must be 1..128 of A-Z a-z 0-9 _ . : -`);
      return { key, source: parsed };
    }),
  );
  if (descriptors.flat().length > MAX_SPEC_ENTRIES)
    throw new RangeError(`at most ${MAX_SPEC_ENTRIES} entries`);
  return descriptors;
}

/** Trusted proxies as a list of addresses or CIDR ranges, IPv4 or IPv6; `none` trusts no one. */
export function parseTrustedProxies(text: string): BlockList {
  const list = new BlockList();
  if (text.trim() === 'none') return list;
  for (const item of text
    .split(',')
    .map((each) => each.trim())
    .filter((each) => each !== '')) {
    const [address = '', prefixText] = item.split('/');
    const family = isIP(address);
    if (family === 0) throw new RangeError(`"${item}" is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefixText === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const prefix = Number(prefixText);
    if (!/^\d{1,3}$/.test(prefixText) || prefix > (family === 4 ? 32 : 128)) {
      throw new RangeError(`"${item}" has a bad prefix length`);
    }
    list.addSubnet(address, prefix, type);
  }
  return list;
}

/** What the proxied request looks like from here. */
export interface ProxiedRequest {
  peer: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
}

function header(request: ProxiedRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function isTrusted(trusted: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  // IPv4 peers on a dual-stack socket arrive as ::ffff:a.b.c.d.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return trusted.check(mapped, 'ipv4');
  return trusted.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client's address. From a trusted proxy: the nearest untrusted hop of X-Forwarded-For
 * (walking from the right, since the left end is whatever the client wrote), else X-Real-IP;
 * from anyone else, the peer itself (their headers could name any address). Hops may carry a
 * port (`ip:port`, `[v6]:port`), which is dropped. A hop that is no address at all ends the walk
 * at the trusted proxy that wrote it: what lies left of it is the client's own writing.
 */
export function clientAddress(request: ProxiedRequest, trusted: BlockList): string {
  const peer = request.peer.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  if (!isTrusted(trusted, request.peer)) return peer;
  const forwardedFor = header(request, 'x-forwarded-for');
  if (forwardedFor !== undefined && forwardedFor.trim() !== '') {
    const hops = forwardedFor.split(',');
    let writer = peer;
    for (let index = hops.length - 1; index >= 0; index--) {
      const text = hops[index]?.trim() ?? '';
      // An empty element (`a,,b`, a trailing comma) says nothing: skip it.
      if (text === '') continue;
      const hop = hopAddress(text);
      if (hop === undefined) return writer;
      if (!isTrusted(trusted, hop) || index === 0) return hop;
      writer = hop;
    }
    return writer;
  }
  const realIp = header(request, 'x-real-ip');
  const real = realIp === undefined ? undefined : hopAddress(realIp);
  return real ?? peer;
}

/** The original request's path, as proxies pass it along (nginx, Traefik, Caddy). */
function originalPath(request: ProxiedRequest): string | undefined {
  const uri = header(request, 'x-forwarded-uri') ?? header(request, 'x-original-uri');
  return uri?.split('?')[0];
}

function value(request: ProxiedRequest, entry: EntrySpec, trusted: BlockList): string | undefined {
  const { source: from } = entry;
  switch (from.kind) {
    case 'remote_address':
      return clientAddress(request, trusted);
    case 'method':
      return header(request, 'x-forwarded-method') ?? header(request, 'x-original-method') ?? request.method;
    case 'path':
      return originalPath(request);
    case 'host':
      return header(request, 'x-forwarded-host') ?? header(request, 'host');
    case 'header':
      return header(request, from.header);
  }
}

/**
 * The descriptors of one proxied request. As Envoy does with its actions, a descriptor any of
 * whose entries has no value (a header not sent) is left out.
 */
export function descriptorsOf(
  request: ProxiedRequest,
  spec: DescriptorSpec,
  trusted: BlockList,
): RateLimitDescriptor[] {
  const descriptors: RateLimitDescriptor[] = [];
  for (const entries of spec) {
    const built: DescriptorEntry[] = [];
    for (const entry of entries) {
      const entryValue = value(request, entry, trusted);
      if (entryValue === undefined || entryValue === '') break;
      built.push({ key: entry.key, value: entryValue });
    }
    if (built.length === entries.length) descriptors.push({ entries: built });
  }
  return descriptors;
}
