import { toError } from '../../lib/errors.ts';
import { bareHost, OutboundRefused, pinnedUrl, type OutboundPolicy } from './outbound.ts';

export type SendOptions = { timeoutMs: number; excerptBytes: number; userAgent: string };

/** What one attempt came to: a 2xx is success; anything else, a timeout or a refused connection is retried. */
export type Attempt = { ok: boolean; status: number | null; excerpt: string | null; error: string | null; refused: boolean };

/** Reads at most `limit` bytes of the answer, then lets go of the rest: a receiver cannot make us buffer much. */
async function excerpt(response: Response, limit: number): Promise<string | null> {
  if (!response.body) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = Buffer.concat(chunks).subarray(0, limit);
  // PostgreSQL text cannot hold NUL; an excerpt is for people, so lost bytes do not matter.
  return bytes.byteLength === 0 ? null : new TextDecoder().decode(bytes).replaceAll('\u0000', '').replace(/\uFFFD$/, '');
}

function describe(error: unknown, timeoutMs: number): string {
  const err = toError(error);
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED' || code === 'ConnectionRefused') return 'connection refused';
  return code ? `${code}: ${err.message}` : err.message;
}

/**
 * One POST to a subscription's URL, to the address the policy checked and pinned (the Host
 * header and the TLS server name stay the URL's). Redirects are not followed: a 3xx is a failure
 * like any other non-2xx. The whole attempt, answer included, is bounded by `timeoutMs`.
 */
export async function sendDelivery(policy: OutboundPolicy, target: string, headers: Record<string, string>, body: string, options: SendOptions): Promise<Attempt> {
  const url = new URL(target);
  let address: string;
  try {
    address = await policy.pin(url);
  } catch (error) {
    if (error instanceof OutboundRefused) return { ok: false, status: null, excerpt: null, error: `refused: ${error.message}`, refused: true };
    throw error;
  }
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    const response = await fetch(pinnedUrl(url, address), {
      method: 'POST',
      headers: { ...headers, host: url.host, 'content-type': 'application/json', 'user-agent': options.userAgent },
      body,
      redirect: 'manual',
      proxy: false,
      signal,
      tls: { serverName: bareHost(url) },
    } as BunFetchRequestInit);
    const text = await excerpt(response, options.excerptBytes);
    const ok = response.status >= 200 && response.status < 300;
    return { ok, status: response.status, excerpt: text, error: ok ? null : `answered ${response.status}`, refused: false };
  } catch (error) {
    return { ok: false, status: null, excerpt: null, error: describe(error, options.timeoutMs), refused: false };
  }
}
