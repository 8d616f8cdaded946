import { BlockList, isIP } from 'node:net';

export type Cidr = { address: string; prefix: number; family: 'ipv4' | 'ipv6' };

/** "10.0.0.0/8", "::1", "fd00::/8" → a CIDR, or an error message. */
export function parseCidr(text: string): Cidr | string {
  const [address = '', bits, extra] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return `"${text}" is not an IP address or CIDR`;
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!/^\d{1,3}$/.test(bits ?? String(max)) || prefix > max) return `"${text}" has an invalid prefix length`;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * The client's address for per-IP rate limits. `X-Forwarded-For` is believed only as far as it was
 * written by proxies we trust: walking from the right (the hop nearest to us), the first address
 * that is not a trusted proxy is the client. From an untrusted peer the header is ignored, so a
 * client cannot pick a fresh address for every request.
 */
export class ClientIp {
  private readonly trusted = new BlockList();
  private readonly any: boolean;

  constructor(proxies: Cidr[]) {
    for (const cidr of proxies) this.trusted.addSubnet(cidr.address, cidr.prefix, cidr.family);
    this.any = proxies.length > 0;
  }

  of(peer: string | undefined, forwardedFor: string | null): string {
    if (!peer) return 'unknown';
    if (!this.any || !forwardedFor || !this.isTrusted(peer)) return peer;
    const hops = forwardedFor.split(',').map((hop) => hop.trim());
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (isIP(hop) === 0) return peer; // a hop we cannot read: stop believing the header there
      if (!this.isTrusted(hop)) return hop;
    }
    return hops[0] ?? peer;
  }

  private isTrusted(address: string): boolean {
    const version = isIP(address);
    return version !== 0 && this.trusted.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }
}
