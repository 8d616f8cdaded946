import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { benchRoutes } from '../bench/routes/index.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { Api, createProduct, startTestService, tokens, type TestService } from './support/service.ts';

/** The two comparison routes `bun run bench` mounts: they must be as strict as the real intake. */
let t: TestService;
let api: Api;
beforeAll(async () => {
  t = await startTestService();
  const app = t.service.app.use(benchRoutes(t.service, t.db.sql));
  api = new Api((request) => app.handle(request));
});
afterAll(() => t.close());

const orderCount = async () => (await t.db.sql`SELECT count(*)::int AS n FROM orders`)[0]!.n as number;

describe('naive baseline route', () => {
  test('one transaction per order: stock taken, order stored processed with its lines and sale', async () => {
    const product = await createProduct(api, { price: '4.25', initialStock: 10 });
    const reply = await api.post('/bench/naive/orders', { customerId: 'naive-1', items: [{ productId: product.id, quantity: 3 }] }, 'client');
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ status: 'processed', total: '12.75', items: [{ productId: product.id, quantity: 3, unitPrice: '4.25' }] });
    expect((await api.get(`/api/v1/products/${product.id}/inventory`)).body).toMatchObject({ onHand: 7, reserved: 0 });
    const stored = (await api.get(`/api/v1/orders/${reply.body.id}`, 'client')).body;
    expect(stored).toMatchObject({ status: 'processed', total: '12.75', createdAt: reply.body.createdAt });
    const [sale] = await t.db.sql`SELECT delta, on_hand_after, reason FROM stock_movements WHERE ${reply.body.id}::uuid = ANY(order_ids)`;
    expect(sale).toEqual({ delta: -3, on_hand_after: 7, reason: 'sale' });
    expect((await api.get(`/api/v1/orders/${reply.body.id}/logs`, 'client')).body.items.map((l: { status: string }) => l.status)).toEqual(['reserved', 'processed']);
    await expectStockConsistent(t.db.sql);
  });

  test('80 concurrent orders for 25 units: exactly 25 sold, the rest 409, nothing oversold', async () => {
    const product = await createProduct(api, { initialStock: 25 });
    const replies = await Promise.all(
      Array.from({ length: 80 }, (_, i) => api.post('/bench/naive/orders', { customerId: `c${i}`, items: [{ productId: product.id, quantity: 1 }] }, 'client')),
    );
    expect(replies.filter((r) => r.status === 202)).toHaveLength(25);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(55);
    expect((await api.get(`/api/v1/products/${product.id}/inventory`)).body).toMatchObject({ onHand: 0, reserved: 0 });
    await expectStockConsistent(t.db.sql);
  });

  test('multi-product orders: all or nothing', async () => {
    const plenty = await createProduct(api, { initialStock: 5 });
    const scarce = await createProduct(api, { initialStock: 1 });
    const before = await orderCount();
    const short = await api.post('/bench/naive/orders', { customerId: 'm', items: [{ productId: plenty.id, quantity: 2 }, { productId: scarce.id, quantity: 2 }] }, 'client');
    expect(short.status).toBe(409);
    expect(await orderCount()).toBe(before);
    expect((await api.get(`/api/v1/products/${plenty.id}/inventory`)).body.onHand).toBe(5);
    const ok = await api.post('/bench/naive/orders', { customerId: 'm', items: [{ productId: plenty.id, quantity: 2 }, { productId: scarce.id, quantity: 1 }] }, 'client');
    expect(ok.status).toBe(202);
    await expectStockConsistent(t.db.sql);
  });

  test('the same rules as the real intake: 401 without a token, 422 for a bad body, an unknown product or a repeated one', async () => {
    const product = await createProduct(api, { initialStock: 5 });
    const before = await orderCount();
    expect((await api.post('/bench/naive/orders', { customerId: 'x', items: [{ productId: product.id, quantity: 1 }] }, 'anonymous')).status).toBe(401);
    expect((await api.post('/bench/naive/orders', { customerId: 'x', items: [] }, 'client')).status).toBe(422);
    expect((await api.post('/bench/naive/orders', { customerId: 'x', items: [{ productId: crypto.randomUUID(), quantity: 1 }] }, 'client')).status).toBe(422);
    const twice = [{ productId: product.id, quantity: 1 }, { productId: product.id, quantity: 1 }];
    expect((await api.post('/bench/naive/orders', { customerId: 'x', items: twice }, 'client')).status).toBe(422);
    expect(await orderCount()).toBe(before);
  });
});

describe('ceiling route', () => {
  test('validates like the intake and answers 202 with an order, storing nothing', async () => {
    const product = await createProduct(api, { initialStock: 5 });
    const before = await orderCount();
    const reply = await api.post('/bench/ceiling/orders', { customerId: 'ceiling', items: [{ productId: product.id, quantity: 2 }] }, 'client');
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({ status: 'reserved', customerId: 'ceiling', items: [{ productId: product.id, quantity: 2 }] });
    expect((await api.post('/bench/ceiling/orders', { customerId: 'ceiling', items: [{ productId: 'nope', quantity: 2 }] }, 'client')).status).toBe(422);
    expect((await api.post('/bench/ceiling/orders', { customerId: 'ceiling', items: [{ productId: product.id, quantity: 1 }] }, 'anonymous')).status).toBe(401);
    expect((await api.request('POST', '/bench/ceiling/orders', { as: 'client', raw: '{"customerId":', headers: { 'content-type': 'application/json' } })).status).toBe(400);
    expect(await orderCount()).toBe(before);
  });

  test('bench stats need the admin token and report the stock and worker counters', async () => {
    expect((await api.get('/bench/stats', 'client')).status).toBe(403);
    const stats = await api.get('/bench/stats');
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({ actors: { mailboxes: expect.any(Number), batches: expect.any(Number) }, worker: { inFlight: 0 } });
    expect(stats.body.memory.rss).toBeGreaterThan(0);
  });
});
