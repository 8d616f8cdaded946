import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import pino from 'pino';
import postgres from 'postgres';
import { createApp } from '../src/http/app.ts';
import { Api, createProduct, startTestService, tokens, type TestService } from './support/service.ts';

let t: TestService;
let product: { id: string };
beforeAll(async () => {
  t = await startTestService();
  product = await createProduct(t.api, { initialStock: 5 });
});
afterAll(() => t.close());

const someId = '01900000-0000-7000-8000-000000000000';

/** Every operation of the catalog contract with the role it needs (null: public). */
const operations: { method: string; path: string; role: 'admin' | 'client' | null; body?: unknown }[] = [
  { method: 'POST', path: '/api/v1/products', role: 'admin', body: { sku: 'X', name: 'x', price: '1.00' } },
  { method: 'GET', path: '/api/v1/products', role: null },
  { method: 'GET', path: '/api/v1/products/:product', role: null },
  { method: 'PATCH', path: '/api/v1/products/:missing', role: 'admin', body: { name: 'x' } },
  { method: 'DELETE', path: '/api/v1/products/:missing', role: 'admin' },
  { method: 'GET', path: '/api/v1/products/:product/inventory', role: null },
  { method: 'PUT', path: '/api/v1/products/:missing/inventory', role: 'admin', body: { onHand: 1 } },
  { method: 'POST', path: '/api/v1/products/:missing/inventory/adjustments', role: 'admin', body: { delta: 1, reason: 'x' } },
  { method: 'GET', path: '/api/v1/products/:product/inventory/movements', role: 'admin' },
  { method: 'POST', path: '/api/v1/categories', role: 'admin', body: { name: 'x' } },
  { method: 'GET', path: '/api/v1/categories', role: null },
  { method: 'GET', path: '/api/v1/categories/:missing', role: null },
  { method: 'PATCH', path: '/api/v1/categories/:missing', role: 'admin', body: { name: 'x' } },
  { method: 'DELETE', path: '/api/v1/categories/:missing', role: 'admin' },
  { method: 'PUT', path: '/api/v1/products/:missing/categories', role: 'admin', body: { categoryIds: [] } },
  { method: 'GET', path: '/api/v1/categories/:missing/products', role: null },
  { method: 'POST', path: '/api/v1/orders', role: 'client', body: { customerId: 'c', items: [] } },
  { method: 'GET', path: '/api/v1/orders', role: 'client' },
  { method: 'GET', path: '/api/v1/orders/:missing', role: 'client' },
  { method: 'GET', path: '/api/v1/orders/:missing/logs', role: 'client' },
  { method: 'POST', path: '/api/v1/orders/:missing/cancel', role: 'client' },
  { method: 'POST', path: '/api/v1/orders/:missing/ship', role: 'admin' },
  { method: 'GET', path: '/api/v1/events', role: 'client' },
  { method: 'POST', path: '/api/v1/warehouse/sync', role: 'admin' },
  { method: 'GET', path: '/api/v1/warehouse/syncs', role: 'admin' },
  { method: 'GET', path: '/metrics', role: 'admin' },
];

/** `:product` is a product that exists, `:missing` an id that does not. */
const resolve = (path: string) => path.replace(':product', product.id).replace(':missing', someId);

describe('authentication', () => {
  for (const op of operations.filter((o) => o.role === 'admin')) {
    test(`${op.method} ${op.path}: no token 401, unknown token 401, client token 403`, async () => {
      const none = await t.api.request(op.method, resolve(op.path), { as: 'anonymous', body: op.body });
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer');
      expect(none.headers.get('content-type')).toContain('application/problem+json');
      expect((await t.api.request(op.method, resolve(op.path), { as: 'wrong-token', body: op.body })).status).toBe(401);
      expect((await t.api.request(op.method, resolve(op.path), { as: 'client', body: op.body })).status).toBe(403);
    });
  }

  for (const op of operations.filter((o) => o.role === 'client')) {
    test(`${op.method} ${op.path}: no token 401, unknown token 401, client token let in`, async () => {
      expect((await t.api.request(op.method, resolve(op.path), { as: 'anonymous', body: op.body })).status).toBe(401);
      expect((await t.api.request(op.method, resolve(op.path), { as: 'wrong-token', body: op.body })).status).toBe(401);
      const client = await t.api.request(op.method, resolve(op.path), { as: 'client', body: op.body, headers: { 'last-event-id': 'x' } });
      expect([401, 403]).not.toContain(client.status);
    });
  }

  test('catalog reads need no token', async () => {
    for (const op of operations.filter((o) => o.role === null)) {
      const reply = await t.api.request(op.method, resolve(op.path), { as: 'anonymous' });
      expect([200, 404]).toContain(reply.status);
    }
  });

  test('a malformed Authorization header is 401', async () => {
    const reply = await t.api.request('POST', '/api/v1/categories', { as: 'anonymous', body: { name: 'x' }, headers: { authorization: tokens.admin } });
    expect(reply.status).toBe(401);
  });
});

describe('bodies and errors', () => {
  test('malformed JSON is 400 problem+json', async () => {
    const reply = await t.api.request('POST', '/api/v1/categories', { raw: '{"name": ', headers: { 'content-type': 'application/json' } });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ type: 'about:blank', title: 'Bad Request', status: 400 });
    expect(reply.headers.get('content-type')).toBe('application/problem+json');
  });

  test('a body that is not JSON is 400', async () => {
    const reply = await t.api.request('POST', '/api/v1/categories', { raw: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(reply.status).toBe(400);
    expect(reply.body.detail).toContain('JSON');
    const noType = await t.api.request('POST', '/api/v1/categories', { raw: '{"name":"x"}' });
    expect(noType.status).toBe(400);
  });

  test('a JSON body that is not an object is 422', async () => {
    const reply = await t.api.request('POST', '/api/v1/categories', { raw: '[1,2]', headers: { 'content-type': 'application/json' } });
    expect(reply.status).toBe(422);
  });

  test('a body over the limit is 413, with or without Content-Length, and nothing is written', async () => {
    const big = JSON.stringify({ sku: 'BIG-1', name: 'x', price: '1.00', description: 'x'.repeat(70 * 1024) });
    const declared = await t.api.request('POST', '/api/v1/products', { raw: big, headers: { 'content-type': 'application/json', 'content-length': String(big.length) } });
    expect(declared.status).toBe(413);
    expect(declared.headers.get('content-type')).toBe('application/problem+json');
    const streamed = await t.api.request('POST', '/api/v1/products', { raw: big, headers: { 'content-type': 'application/json' } });
    expect(streamed.status).toBe(413);
    const [row] = await t.db.sql`SELECT count(*)::int AS n FROM products WHERE sku = 'BIG-1'`;
    expect(row!.n).toBe(0);
  });

  test('unknown routes are 404 problem+json', async () => {
    const reply = await t.api.get('/api/v1/nothing-here');
    expect(reply.status).toBe(404);
    expect(reply.headers.get('content-type')).toBe('application/problem+json');
  });

  test('request ids: echoed when sane, generated otherwise, also on errors', async () => {
    const echoed = await t.api.request('GET', '/health', { headers: { 'x-request-id': 'abc-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('abc-123');
    const generated = await t.api.request('GET', '/health', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const failed = await t.api.request('GET', '/api/v1/products/not-a-uuid', { headers: { 'x-request-id': 'err-1' } });
    expect(failed.status).toBe(422);
    expect(failed.headers.get('x-request-id')).toBe('err-1');
  });
});

describe('health and docs', () => {
  test('health is 200 with the database, 503 problem+json without it', async () => {
    expect((await t.api.get('/health', 'anonymous')).body).toEqual({ status: 'ok' });
    const dead = postgres('postgres://nobody:x@127.0.0.1:1/none', { max: 1, connect_timeout: 1 });
    const app = createApp({ ...t.service.services, sql: dead }, { ...t.service.appOptions, logger: pino({ level: 'silent' }) });
    const reply = await new Api((r) => app.handle(r)).get('/health', 'anonymous');
    expect(reply.status).toBe(503);
    expect(reply.headers.get('content-type')).toBe('application/problem+json');
    await dead.end({ timeout: 0 });
  });

  test('/swagger/json documents every operation of the contract with a summary and errors', async () => {
    const reply = await t.api.get('/swagger/json', 'anonymous');
    expect(reply.status).toBe(200);
    const paths = reply.body.paths as Record<string, Record<string, { summary?: string; responses?: Record<string, unknown>; requestBody?: { content: Record<string, unknown> } }>>;
    for (const op of operations) {
      const path = op.path.replace(/:(product|missing)/, '{id}');
      if (op.path === '/api/v1/events') {
        expect(paths[path]?.get?.summary).toBeTruthy();
        continue;
      }
      const doc = paths[path]?.[op.method.toLowerCase()];
      expect(doc, `${op.method} ${path}`).toBeDefined();
      expect(doc!.summary).toBeTruthy();
      const statuses = Object.keys(doc!.responses ?? {});
      expect(statuses.some((s) => s.startsWith('2'))).toBe(true);
      expect(statuses.some((s) => s.startsWith('4'))).toBe(true);
      if (op.body) expect(Object.keys(doc!.requestBody!.content)).toEqual(['application/json']);
    }
    expect(paths['/health']?.get).toBeDefined();
  });

  test('/swagger serves the UI from this service only (no CDN)', async () => {
    const reply = await t.api.get('/swagger', 'anonymous');
    expect(reply.status).toBe(200);
    const html = reply.body as string;
    const urls = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(urls.length).toBeGreaterThan(0);
    for (const url of urls) {
      expect(url.startsWith('/')).toBe(true);
      const asset = await t.service.app.handle(new Request(`http://localhost${url}`));
      expect(asset.status).toBe(200);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
    expect(html).not.toMatch(/https?:\/\/(?!localhost)/);
  });
});
