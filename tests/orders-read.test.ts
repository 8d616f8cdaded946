import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createProduct, orderReaches, placeOrder, startTestService, type TestService } from './support/service.ts';

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ ORDER_MAX_ATTEMPTS: '2' });
});
afterAll(() => t.close());

describe('GET /api/v1/orders/counts', () => {
  test('every status, 0 when none has it, then what the orders became', async () => {
    const empty = await t.api.get('/api/v1/orders/counts', 'client');
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ counts: { pending: 0, reserved: 0, processed: 0, shipped: 0, failed: 0, cancelled: 0 } });

    const product = await createProduct(t.api, { initialStock: 3 });
    const ids: string[] = [];
    for (const quantity of [1, 1, 1, 5]) ids.push((await placeOrder(t.api, [{ productId: product.id, quantity }])).body.id);
    await Promise.all(ids.slice(0, 3).map((id) => orderReaches(t.api, id, ['processed'])));
    await orderReaches(t.api, ids[3]!, ['failed']);
    expect((await t.api.post(`/api/v1/orders/${ids[0]}/ship`)).status).toBe(200);
    expect((await t.api.post(`/api/v1/orders/${ids[1]}/cancel`, undefined, 'client')).status).toBe(200);

    const counts = await t.api.get('/api/v1/orders/counts', 'admin');
    expect(counts.body).toEqual({ counts: { pending: 0, reserved: 0, processed: 1, shipped: 1, failed: 1, cancelled: 1 } });
  });

  test('needs a token, and is documented', async () => {
    expect((await t.api.get('/api/v1/orders/counts', 'anonymous')).status).toBe(401);
    const spec = await t.api.get('/swagger/json', 'anonymous');
    expect(spec.body.paths['/api/v1/orders/counts'].get.summary).toBe('Number of orders in each status');
  });
});

describe('GET /api/v1/orders', () => {
  test('without a status, lists orders in every status', async () => {
    const product = await createProduct(t.api, { initialStock: 1 });
    const done = (await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: 'lister' })).body.id;
    const short = (await placeOrder(t.api, [{ productId: product.id, quantity: 2 }], { customerId: 'lister' })).body.id;
    await orderReaches(t.api, done, ['processed']);
    await orderReaches(t.api, short, ['failed']);
    const all = await t.api.get('/api/v1/orders?customerId=lister', 'client');
    expect(all.body.items.map((o: { id: string; status: string }) => [o.id, o.status])).toEqual([
      [short, 'failed'],
      [done, 'processed'],
    ]);
    expect((await t.api.get('/api/v1/orders?customerId=lister&status=failed', 'client')).body.items).toHaveLength(1);
    expect((await t.api.get('/api/v1/orders?customerId=lister&status=pending', 'client')).body.items).toHaveLength(0);
  });
});
