import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { DEFAULT_LOCATION_ID } from '../src/db/schema/locations.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { countsAt, createLocation, stock } from './support/locations.ts';
import { createProduct, orderReaches, placeOrder, quietJobs, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * Orders over stock kept at several locations (issue 20's required tests): where a line's units
 * come from under each ALLOCATION_STRATEGY, the last units under concurrency, `locationIds`.
 */
type Allocation = { locationId: string; quantity: number };

/** A service of its own (each strategy is a process setting), stopped when `body` is done. */
async function withService(env: Record<string, string>, body: (t: TestService) => Promise<void>) {
  const t = await startTestService({ ...quietJobs, ...env });
  try {
    await body(t);
  } finally {
    await t.close();
  }
}

/** API.md's example: 10 at A (priority 10), 15 at B (priority 20); nothing at the default location. */
async function example(t: TestService) {
  const a = await createLocation(t.api, { code: `A-${crypto.randomUUID().slice(0, 8)}`, priority: 10 });
  const b = await createLocation(t.api, { code: `B-${crypto.randomUUID().slice(0, 8)}`, priority: 20 });
  const product = await createProduct(t.api);
  await stock(t.api, product.id, a.id, 10);
  await stock(t.api, product.id, b.id, 15);
  return { a, b, product };
}

describe("a line split over locations: API.md's example under each strategy", () => {
  const cases = [
    { strategy: 'fewest-splits', for20: (a: string, b: string) => [[b, 15], [a, 5]], for13: (a: string, b: string) => [[b, 13]] },
    { strategy: 'priority', for20: (a: string, b: string) => [[a, 10], [b, 10]], for13: (a: string, b: string) => [[a, 10], [b, 3]] },
    { strategy: 'most-stock', for20: (a: string, b: string) => [[b, 15], [a, 5]], for13: (a: string, b: string) => [[b, 13]] },
  ] as const;

  for (const { strategy, for20, for13 } of cases) {
    test(
      `${strategy}: 20 → ${strategy === 'priority' ? 'A 10 + B 10' : 'B 15 + A 5'}, 13 → ${strategy === 'priority' ? 'A 10 + B 3' : 'B 13'}; sold, then given back, where each unit was`,
      () =>
        withService(strategy === 'fewest-splits' ? {} : { ALLOCATION_STRATEGY: strategy }, async (t) => {
          const { a, b, product } = await example(t);
          const order = await placeOrder(t.api, [{ productId: product.id, quantity: 20 }]);
          expect(order.status).toBe(202);
          expect(order.body.status).toBe('reserved');
          const expected = for20(a.id, b.id).map(([locationId, quantity]) => ({ locationId, quantity }));
          expect(order.body.items[0].allocations).toEqual(expected);

          // Processed: each location's units left its on hand for its awaiting shipment, no more than it had.
          await orderReaches(t.api, order.body.id, ['processed']);
          const had = { [a.id]: 10, [b.id]: 15 };
          for (const { locationId, quantity } of expected as Allocation[]) {
            expect(quantity).toBeLessThanOrEqual(had[locationId]!);
            expect(await countsAt(t.api, product.id, locationId)).toEqual({ onHand: had[locationId]! - quantity, reserved: 0, incoming: 0, awaitingShipment: quantity });
          }
          expect((await t.api.get(`/api/v1/orders/${order.body.id}`)).body.items[0].allocations).toEqual(expected);
          await expectStockConsistent(t.db.sql);

          // Cancelled after the sale: every unit goes back where it was sold.
          expect((await t.api.post(`/api/v1/orders/${order.body.id}/cancel`)).body.status).toBe('cancelled');
          expect(await countsAt(t.api, product.id, a.id)).toEqual({ onHand: 10, reserved: 0, incoming: 0, awaitingShipment: 0 });
          expect(await countsAt(t.api, product.id, b.id)).toEqual({ onHand: 15, reserved: 0, incoming: 0, awaitingShipment: 0 });

          // A line one location can cover: API.md's 13.
          const thirteen = await placeOrder(t.api, [{ productId: product.id, quantity: 13 }]);
          expect(thirteen.body.items[0].allocations).toEqual(for13(a.id, b.id).map(([locationId, quantity]) => ({ locationId, quantity })));
          await orderReaches(t.api, thirteen.body.id, ['processed']);
          expect((await t.api.post(`/api/v1/orders/${thirteen.body.id}/ship`)).body.status).toBe('shipped');
          for (const id of [a.id, b.id]) expect((await countsAt(t.api, product.id, id)).awaitingShipment).toBe(0);
          await expectStockConsistent(t.db.sql);
        }),
      20_000,
    );
  }
});

describe('the last units, spread over two locations, under 40 concurrent orders', () => {
  test(
    'exactly as many sold as there were units, one order split over both, no location negative, nothing left reserved',
    () =>
      // Retries come from the worker's timers and from the retry sweep, their safety net (every 5 s
      // by default): here every second, as 36 orders wait for units that never come.
      withService({ RETRY_SWEEP_CRON: '* * * * * *' }, async (t) => {
        const a = await createLocation(t.api, { priority: 10 });
        const b = await createLocation(t.api, { priority: 20 });
        const product = await createProduct(t.api);
        // 7 + 5 = 12 units: four orders of 3, and no way to sell them without splitting one.
        await stock(t.api, product.id, a.id, 7);
        await stock(t.api, product.id, b.id, 5);
        const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => placeOrder(t.api, [{ productId: product.id, quantity: 3 }], { customerId: `last-${i}` })));
        expect(replies.map((r) => r.status)).toEqual(Array(40).fill(202));
        const ids = replies.map((r) => r.body.id as string);
        const final = await waitFor(
          async () => {
            const rows = await t.db.sql<{ status: string; allocations: Allocation[] | null }[]>`SELECT status, allocations FROM orders WHERE id = ANY(${ids}::uuid[])`;
            const open = rows.filter((r) => r.status !== 'processed' && r.status !== 'failed').map((r) => r.status);
            if (open.length > 0) throw new Error(`still open: ${open.join(', ')}`);
            return rows;
          },
          20_000,
          'every order processed or failed',
        );
        const sold = final.filter((r) => r.status === 'processed');
        expect(sold).toHaveLength(4);
        expect(final.filter((r) => r.status === 'failed')).toHaveLength(36);
        expect(sold.some((r) => r.allocations!.length === 2)).toBe(true);
        const at = { a: await countsAt(t.api, product.id, a.id), b: await countsAt(t.api, product.id, b.id) };
        expect(at.a).toEqual({ onHand: 0, reserved: 0, incoming: 0, awaitingShipment: 7 });
        expect(at.b).toEqual({ onHand: 0, reserved: 0, incoming: 0, awaitingShipment: 5 });
        const [level] = await t.db.sql<{ reserved: number; onHand: number }[]>`SELECT reserved, on_hand AS "onHand" FROM inventory_levels WHERE product_id = ${product.id}`;
        expect(level).toEqual({ reserved: 0, onHand: 0 });
        await expectStockConsistent(t.db.sql);
      }),
    30_000,
  );
});

describe('locationIds', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ ...quietJobs, ORDER_MAX_ATTEMPTS: '3' });
  });
  afterAll(() => t.close());

  test('an order limited to a store with no stock is not reserved from a warehouse, on its first attempt nor on its retries', async () => {
    const store = await createLocation(t.api, { kind: 'store', priority: 1 });
    const warehouse = await createLocation(t.api, { priority: 50 });
    const product = await createProduct(t.api);
    await stock(t.api, product.id, warehouse.id, 10);
    const order = await t.api.post('/api/v1/orders', { customerId: 'pickup', items: [{ productId: product.id, quantity: 1 }], locationIds: [store.id] }, 'client');
    expect(order.status).toBe(202);
    expect(order.body.status).toBe('pending');
    expect(order.body.lastError).toContain('at the locations it may come from');
    // More stock at the warehouse while it waits: still not its to take.
    await stock(t.api, product.id, warehouse.id, 5);
    const failed = await orderReaches(t.api, order.body.id, ['failed', 'reserved', 'processed']);
    expect(failed.status).toBe('failed');
    expect(failed.attempts).toBe(3);
    expect(failed.items[0].allocations).toEqual([]);
    expect(await countsAt(t.api, product.id, warehouse.id)).toEqual({ onHand: 15, reserved: 0, incoming: 0, awaitingShipment: 0 });
    // The same order without the limit is served by the warehouse; with stock at the store, by the store.
    const anywhere = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: 'delivery' });
    expect(anywhere.body.items[0].allocations).toEqual([{ locationId: warehouse.id, quantity: 1 }]);
    await stock(t.api, product.id, store.id, 1);
    const pickup = await t.api.post('/api/v1/orders', { customerId: 'pickup', items: [{ productId: product.id, quantity: 1 }], locationIds: [store.id] }, 'client');
    expect(pickup.body.status).toBe('reserved');
    expect(pickup.body.items[0].allocations).toEqual([{ locationId: store.id, quantity: 1 }]);
    await expectStockConsistent(t.db.sql);
  });

  test('an unknown or inactive location in an order is 422 naming body.locationIds[i], and nothing is stored', async () => {
    const open = await createLocation(t.api);
    const closed = await createLocation(t.api, { active: false });
    const product = await createProduct(t.api);
    await stock(t.api, product.id, open.id, 5);
    await stock(t.api, product.id, DEFAULT_LOCATION_ID, 5);
    const count = async () => (await t.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orders`)[0]!.n;
    const before = { orders: await count(), levels: await t.db.sql`SELECT * FROM location_levels WHERE product_id = ${product.id} ORDER BY location_id` };
    const missing = '01900000-0000-7000-8000-0000000000ff';
    const reply = await t.api.post(
      '/api/v1/orders',
      { customerId: 'nowhere', items: [{ productId: product.id, quantity: 1 }], locationIds: [open.id, missing, closed.id] },
      'client',
    );
    expect(reply.status).toBe(422);
    expect(reply.body.errors).toEqual([
      { path: 'body.locationIds[1]', message: 'is not a location' },
      { path: 'body.locationIds[2]', message: 'is an inactive location' },
    ]);
    expect({ orders: await count(), levels: await t.db.sql`SELECT * FROM location_levels WHERE product_id = ${product.id} ORDER BY location_id` }).toEqual(before);
  });

  test('a location deactivated with stock keeps it, and is never allocated from', async () => {
    const open = await createLocation(t.api);
    const closing = await createLocation(t.api, { priority: 1 });
    const product = await createProduct(t.api);
    await stock(t.api, product.id, open.id, 5);
    await stock(t.api, product.id, closing.id, 5);
    expect((await t.api.patch(`/api/v1/locations/${closing.id}`, { active: false })).status).toBe(200);
    const short = await placeOrder(t.api, [{ productId: product.id, quantity: 6 }], { customerId: 'everywhere' });
    expect(short.body.status).toBe('pending');
    const served = await placeOrder(t.api, [{ productId: product.id, quantity: 5 }], { customerId: 'everywhere' });
    expect(served.body.items[0].allocations).toEqual([{ locationId: open.id, quantity: 5 }]);
    expect((await countsAt(t.api, product.id, closing.id)).onHand).toBe(5);
    const inventory = (await t.api.get(`/api/v1/products/${product.id}/inventory`)).body;
    expect(inventory.onHand + inventory.awaitingShipment).toBe(10);
  });
});
