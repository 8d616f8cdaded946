import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { inventory, placeHold } from './support/holds.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { createProduct, orderReaches, placeOrder, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/** Many clients at once on one product: holds are decided by the product's actor, in the same batches as its orders. */
let t: TestService;
beforeAll(async () => {
  // Orders that wait for stock are retried within a second, whichever way their retry comes.
  t = await startTestService({ RETRY_SWEEP_CRON: '* * * * * *' });
});
afterAll(() => t.close());

const statuses = (replies: { status: number }[]) => replies.reduce<Record<number, number>>((n, r) => ({ ...n, [r.status]: (n[r.status] ?? 0) + 1 }), {});

describe('many clients, one product', () => {
  test('30 concurrent holds on 5 units: exactly 5 are held, the other 25 are 409 and hold nothing', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => placeHold(t.api, [{ productId: product.id, quantity: 1 }], { customerId: `c${i}` })));
    expect(statuses(replies)).toEqual({ 201: 5, 409: 25 });
    for (const refused of replies.filter((r) => r.status === 409)) expect(refused.body.items).toEqual([{ productId: product.id, quantity: 1, available: 0 }]);
    expect(await inventory(t.api, product.id)).toMatchObject({ onHand: 5, reserved: 5, held: 5, available: 0 });
    const [stored] = await t.db.sql`SELECT count(*)::int AS n FROM holds WHERE items @> ${JSON.stringify([{ productId: product.id }])}::jsonb`;
    expect(stored!.n).toBe(5);
    await expectStockConsistent(t.db.sql);
  });

  test('a burst of holds and orders on one product is exact: what was held plus what was ordered is the stock, never more', async () => {
    const product = await createProduct(t.api, { initialStock: 40 });
    const replies = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        i % 2 === 0 ? placeHold(t.api, [{ productId: product.id, quantity: 1 }], { customerId: `h${i}` }) : placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: `o${i}` }),
      ),
    );
    const holds = replies.filter((r, i) => i % 2 === 0 && r.status === 201);
    const ordered = replies.filter((r, i) => i % 2 === 1 && r.body?.status === 'reserved');
    expect(holds.length + ordered.length).toBe(40);
    expect(replies.filter((r, i) => i % 2 === 0).every((r) => r.status === 201 || r.status === 409)).toBe(true);
    // The orders that found nothing wait, then fail: the holds keep their units.
    const waiting = replies.filter((r, i) => i % 2 === 1 && r.body?.status === 'pending');
    expect(waiting.length).toBe(60 - ordered.length);
    for (const reply of waiting) await orderReaches(t.api, reply.body.id, ['failed']);
    for (const reply of ordered) await orderReaches(t.api, reply.body.id, ['processed']);
    expect(await inventory(t.api, product.id)).toMatchObject({ onHand: 40 - ordered.length, reserved: holds.length, held: holds.length, available: 0 });
    await expectStockConsistent(t.db.sql);
  }, 30_000);

  test('orders converting their holds while others hold and release on the same product: every conversion is exact', async () => {
    const product = await createProduct(t.api, { initialStock: 30 });
    const held = await Promise.all(Array.from({ length: 20 }, (_, i) => placeHold(t.api, [{ productId: product.id, quantity: 1 }], { customerId: `k${i}` })));
    const work = held.flatMap((reply, i) => [
      i % 2 === 0
        ? t.api.post('/api/v1/orders', { customerId: `k${i}`, items: [{ productId: product.id, quantity: 1 }], holdId: reply.body.id }, 'client')
        : t.api.delete(`/api/v1/holds/${reply.body.id}`, 'client'),
      placeHold(t.api, [{ productId: product.id, quantity: 1 }], { customerId: `n${i}` }),
    ]);
    const replies = await Promise.all(work);
    const orders = replies.filter((r) => r.status === 202);
    expect(orders.map((r) => r.body.status)).toEqual(Array(10).fill('reserved'));
    expect(replies.filter((r) => r.status === 204)).toHaveLength(10);
    // 10 units were free from the start, 10 more came free with the releases, as they came: the new holds got what was free when each was decided.
    const holds = replies.filter((r) => r.status === 201).length;
    expect(holds).toBeGreaterThanOrEqual(10);
    expect(holds + replies.filter((r) => r.status === 409).length).toBe(20);
    for (const reply of orders) await orderReaches(t.api, reply.body.id, ['processed']);
    expect(await inventory(t.api, product.id)).toMatchObject({ onHand: 20, reserved: holds, held: holds, available: 20 - holds });
    await expectStockConsistent(t.db.sql);
  });

  test('two orders racing for one hold give one order; the others are 409 and nothing else happens', async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    const held = (await placeHold(t.api, [{ productId: product.id, quantity: 4 }], { customerId: 'racer' })).body;
    const replies = await Promise.all(
      Array.from({ length: 12 }, () => t.api.post('/api/v1/orders', { customerId: 'racer', items: [{ productId: product.id, quantity: 4 }], holdId: held.id }, 'client')),
    );
    expect(statuses(replies)).toEqual({ 202: 1, 409: 11 });
    const winner = replies.find((r) => r.status === 202)!.body;
    expect((await t.api.get(`/api/v1/holds/${held.id}`, 'client')).body).toMatchObject({ status: 'converted', orderId: winner.id });
    await orderReaches(t.api, winner.id, ['processed']);
    const [orders] = await t.db.sql`SELECT count(*)::int AS n FROM orders WHERE customer_id = 'racer'`;
    expect(orders!.n).toBe(1);
    expect(await inventory(t.api, product.id)).toMatchObject({ onHand: 6, reserved: 0, held: 0 });
    await expectStockConsistent(t.db.sql);
  });

  test('two service processes on one database: their holds on one product are still exact', async () => {
    const second = await startTestService({}, { db: t.db });
    try {
      const product = await createProduct(t.api, { initialStock: 7 });
      const replies = await Promise.all(
        Array.from({ length: 40 }, (_, i) => placeHold(i % 2 ? t.api : second.api, [{ productId: product.id, quantity: 1 }], { customerId: `p${i}` })),
      );
      expect(statuses(replies)).toEqual({ 201: 7, 409: 33 });
      await waitFor(async () => (await inventory(t.api, product.id)).held === 7, 5_000, 'the held units to show');
      await expectStockConsistent(t.db.sql);
    } finally {
      await second.close();
    }
  });
});
