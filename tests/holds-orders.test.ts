import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { DEFAULT_LOCATION_ID } from '../src/db/schema/locations.ts';
import { fingerprint } from './support/fingerprint.ts';
import { addLocation, expireIn, inventory, placeHold, stockAt, type Line } from './support/holds.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { createProduct, orderReaches, quietJobs, startTestService, type TestService } from './support/service.ts';

/** Orders placed with a hold (`holdId`): API.md's `POST /api/v1/orders` row, rule by rule. */
let t: TestService;
beforeAll(async () => {
  t = await startTestService(quietJobs, { background: false });
});
afterAll(async () => {
  await expectStockConsistent(t.db.sql);
  await t.close();
});

const order = (customerId: string, items: Line[], more: Record<string, unknown> = {}, key?: string) =>
  t.api.post('/api/v1/orders', { customerId, items, ...more }, 'client', key ? { 'idempotency-key': key } : undefined);
const holdRow = async (id: string) => (await t.db.sql`SELECT status, order_id AS "orderId", updated_at AS "updatedAt" FROM holds WHERE id = ${id}`)[0]!;
/** Nothing in the database changed, once the orders in flight are final. */
async function refusedWithoutChange(request: () => Promise<{ status: number }>, status: number) {
  const before = await fingerprint(t.db.sql);
  expect((await request()).status).toBe(status);
  expect(await fingerprint(t.db.sql)).toEqual(before);
}

describe('an order placed with an active hold', () => {
  test("is born reserved with exactly the hold's allocations (no new search), its held units now plainly reserved, the hold converted in the same transaction", async () => {
    const a = await addLocation(t.db.sql, `HA-${Bun.randomUUIDv7().slice(-6)}`, 10);
    const b = await addLocation(t.db.sql, `HB-${Bun.randomUUIDv7().slice(-6)}`, 20);
    const product = await createProduct(t.api);
    await stockAt(t.api, product.id, 10, a);
    await stockAt(t.api, product.id, 15, b);
    const held = (await placeHold(t.api, [{ productId: product.id, quantity: 20 }], { customerId: 'ann' })).body;
    expect(held.items[0].allocations).toEqual([
      { locationId: b, quantity: 15 },
      { locationId: a, quantity: 5 },
    ]);
    // A fresh search would now take all 20 from A (fewest splits): the order must not search.
    await stockAt(t.api, product.id, 100, a);
    const reply = await order('ann', [{ productId: product.id, quantity: 20 }], { holdId: held.id });
    expect(reply.status).toBe(202);
    expect(reply.body.status).toBe('reserved');
    expect(reply.body.items[0].allocations).toEqual(held.items[0].allocations);
    const hold = await holdRow(held.id);
    expect(hold).toMatchObject({ status: 'converted', orderId: reply.body.id });
    const [stored] = await t.db.sql`SELECT created_at AS "createdAt", born_status AS born FROM orders WHERE id = ${reply.body.id}`;
    expect(stored).toMatchObject({ born: 'reserved', createdAt: hold.updatedAt }); // one transaction: one now()
    const level = await inventory(t.api, product.id);
    expect(level).toMatchObject({ held: 0 });
    expect((await t.api.get(`/api/v1/holds/${held.id}`, 'client')).body).toMatchObject({ status: 'converted', orderId: reply.body.id });
    await orderReaches(t.api, reply.body.id, ['processed']);
    const sales = await t.db.sql`SELECT location_id AS "locationId", -delta AS quantity FROM stock_movements WHERE ${reply.body.id}::uuid = ANY(order_ids) ORDER BY delta`;
    expect([...sales]).toEqual([
      { locationId: b, quantity: 15 },
      { locationId: a, quantity: 5 },
    ]);
  });

  test('is never short: a hold of the last units gives its order those units while nothing else is left', async () => {
    const product = await createProduct(t.api, { initialStock: 3 });
    const held = (await placeHold(t.api, [{ productId: product.id, quantity: 3 }], { customerId: 'ben' })).body;
    const waiting = await order('other', [{ productId: product.id, quantity: 1 }]);
    expect(waiting.body.status).toBe('pending');
    const reply = await order('ben', [{ productId: product.id, quantity: 3 }], { holdId: held.id, locationIds: [Bun.randomUUIDv7()] });
    expect(reply.status).toBe(202);
    expect(reply.body.status).toBe('reserved');
    // `locationIds` is ignored with an active hold, and not kept for retries it will never have.
    expect((await t.db.sql`SELECT location_ids FROM orders WHERE id = ${reply.body.id}`)[0]!.location_ids).toBeNull();
    await orderReaches(t.api, reply.body.id, ['processed']);
    await orderReaches(t.api, waiting.body.id, ['failed']); // its retries found nothing: the hold's units were never anyone else's
  }, 20_000);

  test("a guest hold (no customer) is any customer's to order with", async () => {
    const product = await createProduct(t.api, { initialStock: 2 });
    const held = (await placeHold(t.api, [{ productId: product.id, quantity: 2 }], { customerId: null })).body;
    expect(held.customerId).toBeNull();
    const reply = await order('cleo', [{ productId: product.id, quantity: 2 }], { holdId: held.id });
    expect(reply.body.status).toBe('reserved');
    await orderReaches(t.api, reply.body.id, ['processed']);
  });
});

describe('what an order with a hold is refused', () => {
  test("items that are not the hold's → 422; an unknown hold, or another customer's → 422; nothing changes", async () => {
    const shirt = await createProduct(t.api, { initialStock: 10 });
    const mug = await createProduct(t.api, { initialStock: 10 });
    const held = (await placeHold(t.api, [{ productId: shirt.id, quantity: 2 }, { productId: mug.id, quantity: 1 }], { customerId: 'dave' })).body;
    const both = [{ productId: mug.id, quantity: 1 }, { productId: shirt.id, quantity: 2 }];
    for (const items of [[{ productId: shirt.id, quantity: 2 }], [{ productId: shirt.id, quantity: 3 }, { productId: mug.id, quantity: 1 }], [{ productId: shirt.id, quantity: 2 }, { productId: mug.id, quantity: 2 }]]) {
      await refusedWithoutChange(() => order('dave', items, { holdId: held.id }), 422);
    }
    await refusedWithoutChange(() => order('dave', both, { holdId: Bun.randomUUIDv7() }), 422);
    await refusedWithoutChange(() => order('eve', both, { holdId: held.id }), 422);
    // The same lines in another order are the hold's lines.
    const reply = await order('dave', both, { holdId: held.id });
    expect(reply.body.status).toBe('reserved');
    await orderReaches(t.api, reply.body.id, ['processed']);
  });

  test('a converted hold → 409; replaying the order that converted it answers that order; holdId is part of what the key compares', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const held = (await placeHold(t.api, [{ productId: product.id, quantity: 2 }], { customerId: 'fay' })).body;
    const other = (await placeHold(t.api, [{ productId: product.id, quantity: 2 }], { customerId: 'fay' })).body;
    const lines = [{ productId: product.id, quantity: 2 }];
    const first = await order('fay', lines, { holdId: held.id }, 'checkout-1');
    await orderReaches(t.api, first.body.id, ['processed']);
    const replay = await order('fay', lines, { holdId: held.id }, 'checkout-1');
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toMatchObject({ id: first.body.id, status: 'reserved' });
    await refusedWithoutChange(() => order('fay', lines, { holdId: held.id }), 409);
    await refusedWithoutChange(() => order('fay', lines, { holdId: held.id }, 'checkout-2'), 409);
    await refusedWithoutChange(() => order('fay', lines, { holdId: other.id }, 'checkout-1'), 422);
    await refusedWithoutChange(() => order('fay', lines, {}, 'checkout-1'), 422);
  });
});

describe('an order with a hold that is no longer active reserves afresh, like any order', () => {
  test('released: new allocations from what is available; expired: the same', async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    const released = (await placeHold(t.api, [{ productId: product.id, quantity: 3 }], { customerId: 'gus' })).body;
    await t.api.delete(`/api/v1/holds/${released.id}`, 'client');
    const afterRelease = await order('gus', [{ productId: product.id, quantity: 3 }], { holdId: released.id });
    expect(afterRelease.body).toMatchObject({ status: 'reserved', items: [{ allocations: [{ locationId: DEFAULT_LOCATION_ID, quantity: 3 }] }] });
    expect(await holdRow(released.id)).toMatchObject({ status: 'released', orderId: null });

    const expired = (await placeHold(t.api, [{ productId: product.id, quantity: 3 }], { customerId: 'gus' })).body;
    await expireIn(t.db.sql, expired.id, -1);
    const afterExpiry = await order('gus', [{ productId: product.id, quantity: 3 }], { holdId: expired.id });
    expect(afterExpiry.body.status).toBe('reserved');
    // Its stock was not the order's: 3 + 3 for the orders (reserved, or sold and awaiting shipment), 3 still held by the expired hold (no sweep runs here).
    const level = await inventory(t.api, product.id);
    expect({ held: level.held, orders: level.reserved - level.held + level.awaitingShipment }).toEqual({ held: 3, orders: 6 });
    expect((await t.api.get(`/api/v1/holds/${expired.id}`, 'client')).body).toMatchObject({ status: 'expired', orderId: null });
    await t.service.holds.expiry.sweep();
    await orderReaches(t.api, afterRelease.body.id, ['processed']);
    await orderReaches(t.api, afterExpiry.body.id, ['processed']);
    expect(await inventory(t.api, product.id)).toMatchObject({ onHand: 4, reserved: 0, held: 0 });
  });
});
