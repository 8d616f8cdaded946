import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createProduct, startTestService, tokens, type TestService } from './support/service.ts';

/** The input rules of API.md (Conventions), request by request, through the app without a port. */
let t: TestService;
let product: { id: string };
beforeAll(async () => {
  t = await startTestService({ BODY_READ_TIMEOUT_MS: '300' });
  product = await createProduct(t.api, { initialStock: 5 });
});
afterAll(() => t.close());

const json = { 'content-type': 'application/json' };
const b64 = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');

async function send(method: string, path: string, body: BodyInit | null, headers: Record<string, string> = {}) {
  const response = await t.service.app.handle(
    new Request(`http://localhost${path}`, { method, body, headers: { authorization: `Bearer ${tokens.admin}`, ...json, ...headers } }),
  );
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text ? JSON.parse(text) : undefined };
}

async function rows(table: string): Promise<number> {
  const [row] = await t.db.sql.unsafe(`SELECT count(*)::int AS n FROM ${table}`);
  return row!.n as number;
}

describe('bodies', () => {
  test('a body that is not valid UTF-8 is 400, and nothing is stored', async () => {
    const bytes = Buffer.concat([Buffer.from('{"name":"caf'), Buffer.from([0xc3]), Buffer.from('"}')]);
    const reply = await send('POST', '/api/v1/categories', bytes);
    expect(reply.status).toBe(400);
    expect(reply.body.detail).toContain('UTF-8');
    expect(await rows('categories')).toBe(0);
  });

  test('raw UTF-8-encoded surrogates (CESU) are not UTF-8: 400', async () => {
    const bytes = Buffer.concat([Buffer.from('{"name":"a'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]);
    expect((await send('POST', '/api/v1/categories', bytes)).status).toBe(400);
  });

  test('JSON nested deeper than 32 levels is 400 before it is parsed; 32 levels reach validation', async () => {
    const deep = (n: number) => `{"name":${'['.repeat(n - 1)}${']'.repeat(n - 1)}}`;
    const over = await send('POST', '/api/v1/categories', deep(33));
    expect(over.status).toBe(400);
    expect(over.body.detail).toContain('deeper than 32');
    const at = await send('POST', '/api/v1/categories', deep(32));
    expect(at.status).toBe(422);
    expect(at.body.errors).toEqual([{ path: 'body.name', message: 'must be a string' }]);
  });

  test('a 10,000-deep body is refused quickly, with a small answer', async () => {
    const started = performance.now();
    const reply = await send('POST', '/api/v1/orders', `{"customerId":${'['.repeat(10_000)}${']'.repeat(10_000)}}`);
    expect(reply.status).toBe(400);
    expect(performance.now() - started).toBeLessThan(200);
    expect(reply.text.length).toBeLessThan(500);
  });

  test('brackets inside strings do not count as nesting', async () => {
    const reply = await send('POST', '/api/v1/categories', JSON.stringify({ name: `[{\\"${'['.repeat(50)}` }));
    expect(reply.status).toBe(201);
  });

  test('NUL in a string is 422 naming the field, and the other requests of the batch are not touched', async () => {
    const poisoned = send('POST', '/api/v1/orders', JSON.stringify({ customerId: 'bad\u0000guy', items: [{ productId: product.id, quantity: 1 }] }));
    const innocent = Array.from({ length: 5 }, (_, i) =>
      send('POST', '/api/v1/orders', JSON.stringify({ customerId: `good-${i}`, items: [{ productId: product.id, quantity: 1 }] })),
    );
    const [bad, ...good] = await Promise.all([poisoned, ...innocent]);
    expect(bad!.status).toBe(422);
    expect(bad!.body.errors).toEqual([{ path: 'body.customerId', message: 'must not contain NUL (\\u0000)' }]);
    expect(good.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    const [row] = await t.db.sql`SELECT count(*)::int AS n FROM orders WHERE customer_id LIKE 'bad%'`;
    expect(row!.n).toBe(0);
  });

  test('an escaped lone surrogate is 422, never stored as U+FFFD', async () => {
    const reply = await send('POST', '/api/v1/categories', '{"name":"half \\ud83d pair"}');
    expect(reply.status).toBe(422);
    expect(reply.body.errors[0]).toEqual({ path: 'body.name', message: 'must not contain a lone surrogate (not well-formed Unicode)' });
    const [row] = await t.db.sql`SELECT count(*)::int AS n FROM categories WHERE name LIKE 'half%'`;
    expect(row!.n).toBe(0);
    const pair = await send('POST', '/api/v1/categories', '{"name":"whole \\ud83d\\ude00 pair"}');
    expect(pair.status).toBe(201);
    expect(pair.body.name).toBe('whole \u{1F600} pair');
  });

  test('NUL deep inside a body is named by its path', async () => {
    const reply = await send('PUT', `/api/v1/products/${product.id}/inventory`, JSON.stringify({ onHand: 5, reason: 'count\u0000ed' }));
    expect(reply.status).toBe(422);
    expect(reply.body.errors[0].path).toBe('body.reason');
  });

  test('a validation error never echoes a large value', async () => {
    const reply = await send('POST', '/api/v1/categories', JSON.stringify({ name: 'x'.repeat(60_000) }));
    expect(reply.status).toBe(422);
    expect(reply.text.length).toBeLessThan(500);
    const many = await send('POST', '/api/v1/orders', JSON.stringify({ customerId: 'c', items: Array.from({ length: 50 }, () => ({ productId: 'x'.repeat(500), quantity: 'y'.repeat(500) })) }));
    expect(many.status).toBe(422);
    expect(many.text.length).toBeLessThan(6000);
  });

  test('a body that stops arriving is 408 after BODY_READ_TIMEOUT_MS, and the connection is closed', async () => {
    const stalled = new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(new TextEncoder().encode('{"name":')) });
    const started = performance.now();
    const reply = await send('POST', '/api/v1/categories', stalled);
    expect(reply.status).toBe(408);
    expect(reply.headers.get('content-type')).toBe('application/problem+json');
    expect(reply.headers.get('connection')).toBe('close');
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('query strings, paths and headers', () => {
  test('NUL in a query string is 422 naming it, also for anonymous catalog reads', async () => {
    const reply = await t.api.get('/api/v1/products?q=%00', 'anonymous');
    expect(reply.status).toBe(422);
    expect(reply.body.errors).toEqual([{ path: 'query.q', message: 'must not contain NUL (\\u0000)' }]);
    expect((await t.api.get('/api/v1/orders?customerId=a%00b', 'client')).body.errors[0].path).toBe('query.customerId');
  });

  test('a query value that is not percent-encoded UTF-8 is 422, not searched for as typed', async () => {
    for (const q of ['%ED%A0%80', '%FF', 'ab%C3']) {
      const reply = await t.api.get(`/api/v1/products?q=${q}`, 'anonymous');
      expect(reply.status).toBe(422);
      expect(reply.body.errors).toEqual([{ path: 'query.q', message: 'is not valid percent-encoded UTF-8' }]);
    }
    expect((await t.api.get('/api/v1/products?q=%C3%A9', 'anonymous')).status).toBe(200);
  });

  test('limit: the message names query.limit and the rule, whatever was wrong', async () => {
    for (const limit of ['1.5', '1e9', '0', '201', 'abc', '-1', '', '99999999999999999999']) {
      const reply = await t.api.get(`/api/v1/products?limit=${limit}`, 'anonymous');
      expect(reply.status, limit).toBe(422);
      expect(reply.body.errors, limit).toEqual([{ path: 'query.limit', message: 'must be an integer from 1 to 200' }]);
    }
    const page = await t.api.get('/api/v1/products?limit=1', 'anonymous');
    expect(page.status).toBe(200);
    expect(page.body.items).toHaveLength(1);
  });

  test('crafted cursors are 422: a non-uuid id for categories, a movement id beyond bigint, NUL in any part', async () => {
    const cursors = [
      ['/api/v1/categories', b64(['a', 'not-a-uuid'])],
      ['/api/v1/categories', b64(['a\u0000', '01900000-0000-7000-8000-000000000000'])],
      ['/api/v1/categories', b64(['\ud800', '01900000-0000-7000-8000-000000000000'])],
      [`/api/v1/products/${product.id}/inventory/movements`, b64(['9999999999999999999'])],
      [`/api/v1/products/${product.id}/inventory/movements`, b64(['9223372036854775808'])],
      ['/api/v1/products', b64(['x'])],
      ['/api/v1/orders', '!!!'],
    ];
    for (const [path, cursor] of cursors) {
      const reply = await t.api.get(`${path}?cursor=${cursor}`);
      expect(reply.status, `${path} ${cursor}`).toBe(422);
      expect(reply.body.errors).toEqual([{ path: 'query.cursor', message: 'is invalid' }]);
    }
    const last = await t.api.get(`/api/v1/products/${product.id}/inventory/movements?cursor=${b64(['9223372036854775807'])}`);
    expect(last.status).toBe(200);
  });

  test('Last-Event-ID beyond xid8 or bigint is 422 (header or query), not a stream that fails every poll', async () => {
    for (const id of ['1-9223372036854775808-1', '18446744073709551616-1-1', '99999999999999999999-1-1']) {
      const header = await t.api.request('GET', '/api/v1/events', { as: 'client', headers: { 'last-event-id': id } });
      expect(header.status, id).toBe(422);
      expect(header.body.errors).toEqual([{ path: 'headers.last-event-id', message: 'is invalid' }]);
      const query = await t.api.get(`/api/v1/events?lastEventId=${id}`, 'client');
      expect(query.body.errors).toEqual([{ path: 'query.lastEventId', message: 'is invalid' }]);
    }
    const controller = new AbortController();
    const stream = await t.service.app.handle(
      new Request('http://localhost/api/v1/events', {
        headers: { authorization: `Bearer ${tokens.client}`, 'last-event-id': '18446744073709551615-9223372036854775807-0' },
        signal: controller.signal,
      }),
    );
    expect(stream.status).toBe(200);
    controller.abort();
    await stream.body?.cancel();
  });

  test('an Idempotency-Key outside printable ASCII is 422', async () => {
    const reply = await send('POST', '/api/v1/orders', JSON.stringify({ customerId: 'c', items: [{ productId: product.id, quantity: 1 }] }), {
      authorization: `Bearer ${tokens.client}`,
      'idempotency-key': 'caf\u00e9',
    });
    expect(reply.status).toBe(422);
    expect(reply.body.errors[0].path).toBe('headers.idempotency-key');
  });

  test('an HTTP method no route has is 404 problem+json', async () => {
    for (const method of ['PROPFIND', 'TRACE', 'OPTIONS']) {
      const reply = await t.api.request(method, '/api/v1/products');
      expect(reply.status).toBe(404);
      expect(reply.headers.get('content-type')).toBe('application/problem+json');
    }
  });
});
