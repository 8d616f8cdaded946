import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { ClientIp, parseCidr, type Cidr } from '../src/http/client-ip.ts';
import { RateLimiter } from '../src/http/rate-limit.ts';
import { createKey } from './support/credentials.ts';
import { startTestService, type TestService } from './support/service.ts';

/** Token buckets per credential and per client IP, with the httpapi draft's headers; time is injected, never slept. */
let clockMs = 1_000_000;
const clock = { now: () => clockMs, random: Math.random };
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ RATE_LIMIT_READ_ONLY: '3/1s', RATE_LIMIT_ANONYMOUS: '2/1s', TRUSTED_PROXIES: '127.0.0.1/32, ::1' }, { serviceOptions: { clock } });
});
afterAll(() => t.close());

describe('rate limits per credential', () => {
  test('headers on every answer; the fourth request in a second is 429 problem+json with Retry-After; the next second it works again', async () => {
    const { key } = await createKey(t.api, 'read-only');
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await t.api.get('/api/v1/orders/counts', key));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(replies.map((r) => r.headers.get('ratelimit-policy'))).toEqual(Array(4).fill('"read-only";q=3;w=1'));
    expect(replies.map((r) => r.headers.get('ratelimit'))).toEqual(['"read-only";r=2;t=1', '"read-only";r=1;t=1', '"read-only";r=0;t=1', '"read-only";r=0;t=1']);
    const limited = replies[3]!;
    expect(limited.headers.get('content-type')).toBe('application/problem+json');
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.body).toMatchObject({ status: 429, title: 'Too Many Requests' });

    // Another credential has its own bucket.
    expect((await t.api.get('/api/v1/orders/counts', 'admin')).status).toBe(200);

    clockMs += 334; // a third of the window: one request's worth
    expect((await t.api.get('/api/v1/orders/counts', key)).status).toBe(200);
    expect((await t.api.get('/api/v1/orders/counts', key)).status).toBe(429);
    clockMs += 1000;
    const recovered = await t.api.get('/api/v1/orders/counts', key);
    expect(recovered.status).toBe(200);
    expect(recovered.headers.get('ratelimit')).toBe('"read-only";r=2;t=1');
  });

  test('refused requests (401, 403) are not counted against anyone', async () => {
    const { key } = await createKey(t.api, 'read-only');
    for (let i = 0; i < 5; i++) expect((await t.api.get('/metrics', key)).status).toBe(403);
    expect((await t.api.get('/api/v1/me', key)).headers.get('ratelimit')).toBe('"read-only";r=2;t=1');
  });
});

describe('rate limits per client IP for anonymous reads', () => {
  let base = '';
  beforeAll(() => {
    t.service.app.listen({ port: 0, hostname: '127.0.0.1' });
    base = `http://127.0.0.1:${t.service.app.server!.port}`;
  });
  afterAll(() => t.service.app.stop(true));
  const read = (forwardedFor?: string) => fetch(`${base}/api/v1/categories`, { headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} });

  test('behind a trusted proxy each client has its own bucket; the proxy itself, without the header, has one too', async () => {
    clockMs += 10_000;
    const statuses = async (forwardedFor?: string) => [(await read(forwardedFor)).status, (await read(forwardedFor)).status, (await read(forwardedFor)).status];
    expect(await statuses('203.0.113.7')).toEqual([200, 200, 429]);
    expect(await statuses('198.51.100.1, 203.0.113.9')).toEqual([200, 200, 429]);
    expect(await statuses()).toEqual([200, 200, 429]);
    const limited = await read('203.0.113.7');
    expect(limited.headers.get('ratelimit-policy')).toBe('"anonymous";q=2;w=1');
    expect(limited.headers.get('retry-after')).toBe('1');
  });

  test('X-Forwarded-For from a peer that is not a trusted proxy is ignored', () => {
    const ip = new ClientIp([parseCidr('10.0.0.0/8') as Cidr]);
    expect(ip.of('192.0.2.1', '203.0.113.7')).toBe('192.0.2.1');
    expect(ip.of('10.1.1.1', '203.0.113.7')).toBe('203.0.113.7');
    expect(ip.of('10.1.1.1', '198.51.100.1, 203.0.113.7, 10.2.2.2')).toBe('203.0.113.7');
    expect(ip.of('10.1.1.1', 'not-an-ip, 10.2.2.2')).toBe('10.1.1.1');
    expect(ip.of('::ffff:10.1.1.1', '2001:db8::1')).toBe('2001:db8::1');
    expect(ip.of(undefined, '203.0.113.7')).toBe('unknown');
    expect(new ClientIp([]).of('10.1.1.1', '203.0.113.7')).toBe('10.1.1.1');
  });
});

describe('token buckets', () => {
  test('refill continuously at quota per window, never above the quota; memory stays bounded', () => {
    let now = 0;
    const limiter = new RateLimiter(() => now, 4);
    const policy = { name: 'p', quota: 10, windowSeconds: 10 };
    for (let i = 0; i < 10; i++) expect(limiter.take('a', policy).allowed).toBe(true);
    const refused = limiter.take('a', policy);
    expect(refused).toEqual({ allowed: false, remaining: 0, resetSeconds: 10, retryAfterSeconds: 1 });
    now += 2500;
    expect([limiter.take('a', policy).allowed, limiter.take('a', policy).allowed, limiter.take('a', policy).allowed]).toEqual([true, true, false]);
    now += 3_600_000;
    expect(limiter.take('a', policy).remaining).toBe(9);
    for (let i = 0; i < 100; i++) limiter.take(`ip-${i}`, policy);
    expect(limiter['buckets'].size).toBeLessThanOrEqual(4);
  });
});
