import { cors } from '@elysiajs/cors';
import { Elysia } from 'elysia';

/** API.md, "Authentication": `authorization` is named because a `*` would not cover it. */
/** Browsers may reuse a preflight's answer for 10 minutes (Chromium caps it at 2 h anyway). */
const PREFLIGHT_CACHE_S = 600;
const ALLOWED_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'last-event-id'];
const EXPOSED_HEADERS = ['Location', 'Retry-After', 'RateLimit', 'RateLimit-Policy', 'X-Request-Id', 'Idempotent-Replayed'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Cross-origin browsers, for the origins in CORS_ORIGINS only (none: no CORS headers at all).
 * @elysiajs/cors answers preflights and sets Access-Control-Allow-Origin for a listed origin; it
 * also puts its static allow/expose headers on every response, so a request from any other origin
 * (or none) has them taken off again, and a refused preflight is answered before it without any.
 * Bearer tokens, not cookies: no Access-Control-Allow-Credentials.
 */
export function corsPolicy(origins: string[]) {
  const plugin = new Elysia({ name: 'cors-policy' });
  if (origins.length === 0) return plugin;
  const allowed = new Set(origins);
  const listed = (request: Request) => allowed.has(request.headers.get('origin') ?? '');
  const unlisted = (request: Request, headers: Record<string, unknown>) => {
    if (listed(request)) return false;
    for (const name of Object.keys(headers)) if (name.startsWith('access-control-')) delete headers[name];
    return true;
  };
  return plugin
    .onRequest(({ request, set }) => {
      if (request.method === 'OPTIONS' && unlisted(request, set.headers)) return new Response(null, { status: 204, headers: { vary: 'Origin' } });
    })
    .use(
      cors({
        origin: [...allowed],
        methods: METHODS,
        allowedHeaders: ALLOWED_HEADERS,
        exposeHeaders: EXPOSED_HEADERS,
        credentials: false,
        maxAge: PREFLIGHT_CACHE_S,
      }),
    )
    .onRequest(({ request, set }) => {
      unlisted(request, set.headers);
    });
}
