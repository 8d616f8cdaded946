import { statusOf } from '../src/http/errors.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { adjustStock } from '../src/actors/stock-commands.ts';
import { AppError } from '../src/lib/errors.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { createProduct, quietJobs, startTestService, type TestService } from './support/service.ts';

/**
 * One bad work in a full batch fails alone. The HTTP layer refuses a NUL in a string (422) before
 * it reaches a batch; these go around it, straight to the intake and the stock actors, to show
 * that a value the database refuses costs only its own request.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService(quietJobs);
});
afterAll(() => t.close());

const settled = <T>(promises: Promise<T>[]) => Promise.allSettled(promises);

describe('a poisoned work in a full batch', () => {
  test('intake: the order the database refuses is a 422; the other orders of its batch are stored', async () => {
    const product = await createProduct(t.api, { initialStock: 1000 });
    const place = (customerId: string) => t.service.orders.intake.place({ customerId, items: [{ productId: product.id, quantity: 1 }] }, undefined, 'token:client');
    const before = t.service.actors.stats().batches;
    // Sent in one tick: they share the product's next stock transaction.
    const outcomes = await settled(Array.from({ length: 60 }, (_, i) => place(i === 30 ? 'poison\u0000ed' : `innocent-${i}`)));
    expect(t.service.actors.stats().batches - before).toBeLessThan(20); // batched, then split only around the poison
    const poisoned = outcomes[30]!;
    expect(poisoned.status).toBe('rejected');
    expect((poisoned as PromiseRejectedResult).reason).toBeInstanceOf(AppError);
    expect(statusOf((poisoned as PromiseRejectedResult).reason as AppError)).toBe(422);
    const placed = outcomes.filter((o, i) => i !== 30);
    expect(placed.every((o) => o.status === 'fulfilled' && o.value.order.status === 'reserved')).toBe(true);
    const [row] = await t.db.sql`SELECT count(*)::int AS n FROM orders WHERE items @> ${JSON.stringify([{ productId: product.id }])}::jsonb`;
    expect(row!.n).toBe(59);
    await expectStockConsistent(t.db.sql);
  });

  test('stock: the adjustment the database refuses is a 422; the others of its batch apply', async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    const outcomes = await settled(Array.from({ length: 50 }, (_, i) => t.service.actors.submit(adjustStock(product.id, 1, i === 7 ? 'nul\u0000reason' : `innocent ${i}`))));
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => statusOf((o as PromiseRejectedResult).reason as AppError))).toEqual([422]);
    expect((await t.api.get(`/api/v1/products/${product.id}/inventory`)).body.onHand).toBe(10 + 49);
    await expectStockConsistent(t.db.sql);
  });

  test('a shared transaction of many products: one product\'s poison does not fail the others', async () => {
    const products = await Promise.all(Array.from({ length: 20 }, () => createProduct(t.api, { initialStock: 1 })));
    const outcomes = await settled(products.map((p, i) => t.service.actors.submit(adjustStock(p.id, 2, i === 5 ? '\u0000' : 'restock'))));
    expect(outcomes.map((o) => o.status)).toEqual(products.map((_, i) => (i === 5 ? 'rejected' : 'fulfilled')));
    const levels = await Promise.all(products.map(async (p) => (await t.api.get(`/api/v1/products/${p.id}/inventory`)).body.onHand));
    expect(levels).toEqual(products.map((_, i) => (i === 5 ? 1 : 3)));
  });
});
