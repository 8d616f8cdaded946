import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { withDeadline } from '../../lib/deadline.ts';

/** DNS, behind an interface: tests hand in a resolver that answers what the test needs (a name that moves). */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;
export const systemResolver: Resolver = (hostname) => lookup(hostname, { all: true, verbatim: true });

/**
 * Addresses a delivery may not go to unless WEBHOOK_ALLOW_PRIVATE: this host, its networks and
 * addresses that are not one host (RFC 6890 special-purpose ranges).
 */
const refused = new BlockList();
for (const [address, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
] as const) {
  refused.addSubnet(address, prefix, 'ipv4');
}
for (const [address, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed by some stacks)
  ['ff00::', 8], // multicast
] as const) {
  refused.addSubnet(address, prefix, 'ipv6');
}

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail included). */
function groups(address: string): number[] {
  const text = address.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let hex = text;
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    hex = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = hex.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  return [...front, ...Array(8 - front.length - back.length).fill(0), ...back];
}

/** The IPv4 address an IPv6 one carries: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::), 6to4 (2002::). */
function embeddedIpv4(address: string): string | undefined {
  const g = groups(address);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && (g[5] === 0xffff || g[5] === 0) && !(g[5] === 0 && g[6] === 0)) return v4(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return v4(g[6]!, g[7]!);
  if (g[0] === 0x2002) return v4(g[1]!, g[2]!);
  return undefined;
}

/** Why an address may not be called, or undefined when it may. */
export function refusedAddress(address: string): string | undefined {
  const version = isIP(address);
  if (version === 0) return `"${address}" is not an IP address`;
  if (version === 4) return refused.check(address, 'ipv4') ? `${address} is a loopback, private, link-local or reserved address` : undefined;
  if (refused.check(address, 'ipv6')) return `${address} is a loopback, private, link-local or reserved address`;
  const inner = embeddedIpv4(address);
  return inner !== undefined && refused.check(inner, 'ipv4') ? `${address} carries ${inner}, a loopback, private, link-local or reserved address` : undefined;
}

export class OutboundRefused extends Error {
  override name = 'OutboundRefused';
}

/** The host as the socket wants it: an IPv6 literal without its brackets. */
export const bareHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** A URL a subscription may have: http or https, a host, no credentials. The problem, or the parsed URL. */
export function parseWebhookUrl(text: string): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be http or https';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials (user:password@): put a token in the path or query instead';
  if (bareHost(url) === '') return 'has no host';
  return url;
}

export type OutboundOptions = { allowPrivate: boolean; resolve: Resolver; dnsTimeoutMs: number };

/**
 * Where a delivery may go. Checked when a subscription is created or changed, and again at every
 * delivery on the address the name resolves to then; the request is sent to that very address
 * (`pin`), so a name cannot resolve to one address for the check and another for the connection.
 */
export class OutboundPolicy {
  constructor(private readonly options: OutboundOptions) {}

  /** The address to connect to for `url`; throws `OutboundRefused` when it may not be called. */
  async pin(url: URL): Promise<string> {
    const host = bareHost(url);
    if (!this.options.allowPrivate && (host === 'localhost' || host.endsWith('.localhost'))) throw new OutboundRefused(`${host} is this machine`);
    const addresses = isIP(host) ? [host] : (await this.lookup(host)).map((a) => a.address);
    if (addresses.length === 0) throw new OutboundRefused(`${host} does not resolve`);
    if (!this.options.allowPrivate) {
      // Every address, not just the first: a name that also points inward is refused outright.
      for (const address of addresses) {
        const why = refusedAddress(address);
        if (why) throw new OutboundRefused(isIP(host) ? why : `${host} resolves to ${why}`);
      }
    }
    return addresses[0]!;
  }

  private async lookup(host: string) {
    try {
      return await withDeadline(this.options.resolve(host), this.options.dnsTimeoutMs, `resolving ${host}`);
    } catch (error) {
      throw new OutboundRefused(`${host} does not resolve (${(error as Error).message})`);
    }
  }
}

/** `url` with its host replaced by the pinned address (the Host header and TLS name keep the original). */
export function pinnedUrl(url: URL, address: string): string {
  const host = isIP(address) === 6 ? `[${address}]` : address;
  return `${url.protocol}//${host}${url.port ? `:${url.port}` : ''}${url.pathname}${url.search}`;
}
