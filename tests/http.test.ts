import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import pino from 'pino';
import { connect } from '../src/db/client.ts';
import { createApp } from '../src/http/app.ts';
import { Api, startTestService, tokens, type TestService } from './support/service.ts';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(() => t.close());

// Who may call what, operation by operation: tests/access-matrix.test.ts.
describe('authentication', () => {
  test('a 401 is problem+json with WWW-Authenticate: Bearer', async () => {
    const none = await t.api.request('POST', '/api/v1/products', { as: 'anonymous', body: { sku: 'X', name: 'x', price: '1.00' } });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.headers.get('content-type')).toContain('application/problem+json');
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
    const node = t.service.node.nodeId;
    expect((await t.api.get('/health', 'anonymous')).body).toEqual({ status: 'ok', node });
    const dead = connect('postgres://nobody:x@127.0.0.1:1/none', { max: 1 });
    const app = createApp({ ...t.service.services, ping: (ms) => dead.ping(ms) }, { ...t.service.appOptions, logger: pino({ level: 'silent' }) });
    const reply = await new Api((r) => app.handle(r)).get('/health', 'anonymous');
    expect(reply.status).toBe(503);
    expect(reply.headers.get('content-type')).toBe('application/problem+json');
    expect(reply.headers.get('retry-after')).toBe('1');
    expect((await new Api((r) => app.handle(r)).get('/health/live', 'anonymous')).body).toEqual({ status: 'ok', node });
    await dead.close(0);
  });

  test('/swagger/json documents every operation with a summary, its answers and JSON bodies only', async () => {
    // That every operation of API.md is there (webhooks aside, for now) is checked by tests/access-matrix.test.ts.
    const reply = await t.api.get('/swagger/json', 'anonymous');
    expect(reply.status).toBe(200);
    const paths = reply.body.paths as Record<string, Record<string, { summary?: string; responses?: Record<string, unknown>; requestBody?: { content: Record<string, unknown> } }>>;
    const operations = Object.entries(paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, doc]) => ({ name: `${method.toUpperCase()} ${path}`, doc })));
    expect(operations.length).toBeGreaterThan(30);
    for (const { name, doc } of operations) {
      expect(doc.summary, name).toBeTruthy();
      const statuses = Object.keys(doc.responses ?? {});
      expect(statuses.some((s) => s.startsWith('2')), name).toBe(true);
      if (name !== 'GET /health') expect(statuses.some((s) => s.startsWith('4')), name).toBe(true);
      if (doc.requestBody) expect(Object.keys(doc.requestBody.content), name).toEqual(['application/json']);
    }
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
