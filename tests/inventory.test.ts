import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { StockActors } from '../src/actors/stock-actors.ts';
import { adjustStock } from '../src/actors/stock-commands.ts';
import { createProduct, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(() => t.close());

const inv = (id: string) => `/api/v1/products/${id}/inventory`;

async function ledgerSum(productId: string): Promise<number> {
  const [row] = await t.db.sql`SELECT coalesce(sum(delta), 0)::int AS total FROM stock_movements WHERE product_id = ${productId}`;
  return row!.total;
}

describe('inventory', () => {
  test('read is public and shows available = onHand - reserved', async () => {
    const product = await createProduct(t.api, { initialStock: 7 });
    const reply = await t.api.get(inv(product.id), 'anonymous');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ productId: product.id, onHand: 7, reserved: 0, available: 7 });
    expect((await t.api.get(inv('01900000-0000-7000-8000-000000000000'))).status).toBe(404);
  });

  test('200 concurrent +1/-1 adjustments end at the exact count, and the ledger sums to it', async () => {
    const product = await createProduct(t.api, { initialStock: 100 });
    const deltas = Array.from({ length: 200 }, (_, i) => (i % 4 === 0 ? -1 : 1)); // 50 × -1, 150 × +1
    const replies = await Promise.all(deltas.map((delta, i) => t.api.post(`${inv(product.id)}/adjustments`, { delta, reason: `r${i}` })));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const level = await t.api.get(inv(product.id));
    expect(level.body.onHand).toBe(200);
    expect(await ledgerSum(product.id)).toBe(200);
    const [movements] = await t.db.sql`SELECT count(*)::int AS n FROM stock_movements WHERE product_id = ${product.id}`;
    expect(movements!.n).toBe(201);
    // every movement's onHandAfter is consistent with the running sum in ledger order
    const rows = await t.db.sql`
      SELECT delta, on_hand_after, sum(delta) OVER (ORDER BY id)::int AS running
      FROM stock_movements WHERE product_id = ${product.id} ORDER BY id`;
    expect(rows.every((r) => r.on_hand_after === r.running)).toBe(true);
  });

  test('concurrent decrements never take on-hand below zero: exactly the stock is removed', async () => {
    const product = await createProduct(t.api, { initialStock: 30 });
    const replies = await Promise.all(Array.from({ length: 50 }, () => t.api.post(`${inv(product.id)}/adjustments`, { delta: -1, reason: 'pick' })));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(30);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(20);
    expect((await t.api.get(inv(product.id))).body.onHand).toBe(0);
    expect(await ledgerSum(product.id)).toBe(0);
  });

  test('an adjustment below what is reserved is refused with 409 and changes nothing', async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    await t.db.sql`UPDATE inventory_levels SET reserved = 8 WHERE product_id = ${product.id}`;
    const reply = await t.api.post(`${inv(product.id)}/adjustments`, { delta: -3, reason: 'damaged' });
    expect(reply.status).toBe(409);
    expect(reply.body).toMatchObject({ status: 409, onHand: 10, reserved: 8 });
    expect((await t.api.get(inv(product.id))).body).toMatchObject({ onHand: 10, reserved: 8, available: 2 });
    expect((await t.api.post(`${inv(product.id)}/adjustments`, { delta: -2, reason: 'damaged' })).status).toBe(200);
  });

  test('PUT sets the count and records the difference; with expectedOnHand it is a compare-and-set', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const set = await t.api.put(inv(product.id), { onHand: 9 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ onHand: 9, available: 9 });
    expect(await ledgerSum(product.id)).toBe(9);

    const stale = await t.api.put(inv(product.id), { onHand: 1, expectedOnHand: 5 });
    expect(stale.status).toBe(409);
    expect(stale.body.onHand).toBe(9);
    const fresh = await t.api.put(inv(product.id), { onHand: 1, expectedOnHand: 9, reason: 'cycle count' });
    expect(fresh.status).toBe(200);
    expect(fresh.body.onHand).toBe(1);
    const movements = await t.api.get(`${inv(product.id)}/movements`);
    expect(movements.body.items[0]).toMatchObject({ delta: -8, reason: 'cycle count', onHandAfter: 1 });
  });

  test('concurrent compare-and-sets from one read: exactly one wins', async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => t.api.put(inv(product.id), { onHand: 20 + i, expectedOnHand: 10 })));
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(9);
  });

  test('PUT below reserved is a conflict', async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    await t.db.sql`UPDATE inventory_levels SET reserved = 4 WHERE product_id = ${product.id}`;
    expect((await t.api.put(inv(product.id), { onHand: 3 })).status).toBe(409);
    expect((await t.api.put(inv(product.id), { onHand: 4 })).status).toBe(200);
  });

  test('validation: delta 0, non-integers, missing reason, negative counts', async () => {
    const product = await createProduct(t.api, { initialStock: 1 });
    const zero = await t.api.post(`${inv(product.id)}/adjustments`, { delta: 0, reason: 'x' });
    expect(zero.status).toBe(422);
    expect(zero.body.errors).toEqual([{ path: 'body.delta', message: 'must not be 0' }]);
    expect((await t.api.post(`${inv(product.id)}/adjustments`, { delta: 1.5, reason: 'x' })).status).toBe(422);
    expect((await t.api.post(`${inv(product.id)}/adjustments`, { delta: '1', reason: 'x' })).status).toBe(422);
    expect((await t.api.post(`${inv(product.id)}/adjustments`, { delta: 1 })).status).toBe(422);
    expect((await t.api.put(inv(product.id), { onHand: -1 })).status).toBe(422);
    expect(await ledgerSum(product.id)).toBe(1);
  });

  test('movements page newest first with a cursor; admin only', async () => {
    const product = await createProduct(t.api, { initialStock: 1 });
    for (let i = 1; i <= 4; i++) await t.api.post(`${inv(product.id)}/adjustments`, { delta: i, reason: `step ${i}` });
    const first = await t.api.get(`${inv(product.id)}/movements?limit=3`);
    expect(first.status).toBe(200);
    expect(first.body.items.map((m: { delta: number }) => m.delta)).toEqual([4, 3, 2]);
    const second = await t.api.get(`${inv(product.id)}/movements?limit=3&cursor=${first.body.nextCursor}`);
    expect(second.body.items.map((m: { reason: string }) => m.reason)).toEqual(['step 1', 'initial']);
    expect(second.body.nextCursor).toBeNull();
    expect((await t.api.get(`${inv(product.id)}/movements`, 'client')).status).toBe(403);
    expect((await t.api.get(`${inv(product.id)}/movements`, 'anonymous')).status).toBe(401);
  });

  test('the ledger is ordered by number, not as text, across digit boundaries', async () => {
    const product = await createProduct(t.api, { initialStock: 0 });
    await t.db.sql`SELECT setval(pg_get_serial_sequence('stock_movements', 'id'), 99998)`;
    for (const delta of [1, 2, 3]) await t.api.post(`${inv(product.id)}/adjustments`, { delta, reason: `d${delta}` });
    const page = await t.api.get(`${inv(product.id)}/movements`);
    expect(page.body.items.map((m: { id: string; delta: number }) => [m.id, m.delta])).toEqual([
      ['100001', 3],
      ['100000', 2],
      ['99999', 1],
    ]);
    const next = await t.api.get(`${inv(product.id)}/movements?limit=1&cursor=${(await t.api.get(`${inv(product.id)}/movements?limit=1`)).body.nextCursor}`);
    expect(next.body.items[0].id).toBe('100000');
  });

  test('changes to many products share transactions instead of one each', async () => {
    const products = await Promise.all(Array.from({ length: 120 }, () => createProduct(t.api, { initialStock: 5 })));
    const before = t.service.actors.stats().batches;
    const replies = await Promise.all(products.map((p) => t.api.post(`${inv(p.id)}/adjustments`, { delta: 2, reason: 'restock' })));
    expect(replies.every((r) => r.status === 200 && r.body.onHand === 7)).toBe(true);
    expect(t.service.actors.stats().batches - before).toBeLessThan(30);
    for (const p of products.slice(0, 5)) expect(await ledgerSum(p.id)).toBe(7);
  });

  test('idle mailboxes are dropped; a product gets a new one when work comes again', async () => {
    let now = 1_000_000;
    const actors = new StockActors(t.db.sql, { maxDepth: 10, maxBatch: 10, maxConcurrent: 2, idleMs: 100 }, t.service.metrics, { now: () => now });
    try {
      const product = await createProduct(t.api, { initialStock: 1 });
      await actors.submit(adjustStock(product.id, 1, 'x'));
      expect(actors.stats().mailboxes).toBe(1);
      now += 100;
      actors.evictIdle();
      expect(actors.stats().mailboxes).toBe(1); // idle for exactly idleMs: not yet
      now += 1;
      actors.evictIdle();
      expect(actors.stats().mailboxes).toBe(0);
      const level = await actors.submit(adjustStock(product.id, 1, 'x'));
      expect(level.onHand).toBe(3);
      expect(actors.stats().mailboxes).toBe(1);
      // The timer does the same on its own: it runs every max(1 s, idleMs), so within a second.
      now += 101;
      await waitFor(() => actors.stats().mailboxes === 0, 1000 + 500, 'the eviction timer to drop the idle mailbox');
    } finally {
      actors.close();
    }
  });

  test('a full mailbox answers 429 instead of queueing without bound', async () => {
    const small = await startTestService({ MAILBOX_MAX_DEPTH: '2' }, { db: t.db });
    try {
      const product = await createProduct(small.api, { initialStock: 0 });
      const replies = await Promise.all(Array.from({ length: 40 }, () => small.api.post(`${inv(product.id)}/adjustments`, { delta: 1, reason: 'x' })));
      const ok = replies.filter((r) => r.status === 200).length;
      const limited = replies.filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      expect(limited[0]!.headers.get('retry-after')).toBe('1');
      expect(ok + limited.length).toBe(40);
      expect((await small.api.get(inv(product.id))).body.onHand).toBe(ok);
    } finally {
      await small.close();
    }
  });
});
