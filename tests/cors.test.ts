import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startTestService, tokens, type TestService } from './support/service.ts';

/** CORS for the origins in CORS_ORIGINS only, with exactly the headers API.md lists. */
let t: TestService;
let off: TestService;
beforeAll(async () => {
  t = await startTestService({ CORS_ORIGINS: 'https://shop.example,http://localhost:5173' });
  off = await startTestService({}, { db: t.db });
});
afterAll(async () => {
  await off.close();
  await t.close();
});

const send = (service: TestService, method: string, path: string, headers: Record<string, string>) =>
  service.service.app.handle(new Request(`http://localhost${path}`, { method, headers }));
const corsHeaders = (response: Response) => [...response.headers.keys()].filter((name) => name.startsWith('access-control-')).sort();
const preflight = (service: TestService, origin: string) =>
  send(service, 'OPTIONS', '/api/v1/orders', {
    origin,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization, content-type, idempotency-key',
  });

describe('CORS', () => {
  test('a preflight from an allowed origin is answered with the allowed methods and headers', async () => {
    const response = await preflight(t, 'https://shop.example');
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(response.headers.get('access-control-allow-headers')).toBe('authorization, content-type, idempotency-key, last-event-id');
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST, PUT, PATCH, DELETE');
    expect(response.headers.get('access-control-max-age')).toBe('600');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
    expect(response.headers.get('vary')).toContain('Origin');
  });

  test('a preflight from any other origin gets no CORS header at all', async () => {
    const response = await preflight(t, 'https://evil.example');
    expect(response.status).toBe(204);
    expect(corsHeaders(response)).toEqual([]);
  });

  test('answers to an allowed origin expose the headers API.md lists, errors included; others get none', async () => {
    const ok = await send(t, 'GET', '/api/v1/orders/counts', { origin: 'http://localhost:5173', authorization: `Bearer ${tokens.client}` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(ok.headers.get('access-control-expose-headers')).toBe('Location, Retry-After, RateLimit, RateLimit-Policy, X-Request-Id, Idempotent-Replayed');
    const refused = await send(t, 'GET', '/api/v1/orders/counts', { origin: 'https://shop.example' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://shop.example'); // the browser may read why
    for (const origin of ['https://evil.example', 'https://shop.example.evil.example']) {
      expect(corsHeaders(await send(t, 'GET', '/api/v1/products', { origin }))).toEqual([]);
    }
    expect(corsHeaders(await send(t, 'GET', '/api/v1/products', {}))).toEqual([]);
  });

  test('without CORS_ORIGINS there are no CORS headers, and a preflight is an unknown route', async () => {
    expect(corsHeaders(await send(off, 'GET', '/api/v1/products', { origin: 'https://shop.example' }))).toEqual([]);
    const response = await preflight(off, 'https://shop.example');
    expect(corsHeaders(response)).toEqual([]);
    expect(response.status).toBe(404);
  });
});
