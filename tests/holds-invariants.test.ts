import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { DEFAULT_LOCATION_ID } from '../src/db/schema/locations.ts';
import { addLocation, placeHold, stockAt } from './support/holds.ts';
import { expectStockConsistent, stockViolations } from './support/invariants.ts';
import { createProduct, orderReaches, quietJobs, startTestService, type TestService } from './support/service.ts';

/**
 * The invariant checker knows holds: at each location `reserved` is what reserved orders and
 * active holds hold there, `held` what active holds hold there, and a converted hold's order got
 * exactly its units. Shown on real rows, then on rows broken one way at a time with SQL: each
 * break is named, and nothing else is.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService(quietJobs, { background: false });
});
afterAll(() => t.close());

describe('the invariant checker and holds', () => {
  test('holds, orders with and without holds, at two locations: consistent; each way of breaking it is named', async () => {
    const far = await addLocation(t.db.sql, `FAR-${Bun.randomUUIDv7().slice(-6)}`, 50);
    const product = await createProduct(t.api);
    await stockAt(t.api, product.id, 4, DEFAULT_LOCATION_ID);
    await stockAt(t.api, product.id, 6, far);
    const kept = (await placeHold(t.api, [{ productId: product.id, quantity: 5 }], { customerId: 'inv' })).body;
    const converted = (await placeHold(t.api, [{ productId: product.id, quantity: 3 }], { customerId: 'inv' })).body;
    const order = await t.api.post('/api/v1/orders', { customerId: 'inv', items: [{ productId: product.id, quantity: 3 }], holdId: converted.id }, 'client');
    const plain = await t.api.post('/api/v1/orders', { customerId: 'inv', items: [{ productId: product.id, quantity: 1 }] }, 'client');
    await orderReaches(t.api, order.body.id, ['processed']);
    await orderReaches(t.api, plain.body.id, ['processed']);
    await expectStockConsistent(t.db.sql);

    const place = (locationId: string) => `${product.id}@${locationId}`;
    const [where] = kept.items[0].allocations as { locationId: string }[];
    const at = place(where!.locationId);
    const broken = async (breakIt: () => Promise<unknown>, repair: () => Promise<unknown>) => {
      await breakIt();
      const found = await stockViolations(t.db.sql);
      await repair();
      return { held: found.held, holds: found.holds, conversions: found.conversions, outOfRange: found.outOfRange, sums: found.sums };
    };
    const nothingElse = { outOfRange: [], sums: [] };

    // A hold stored as released while its units are still held there: both counts are wrong there.
    expect(
      await broken(
        () => t.db.sql`UPDATE holds SET status = 'released' WHERE id = ${kept.id}`,
        () => t.db.sql`UPDATE holds SET status = 'active' WHERE id = ${kept.id}`,
      ),
    ).toEqual({ held: [at], holds: [at], conversions: [], ...nothingElse });
    // A held unit counted as a plain reservation (reserved still matches; the product's sum follows its location).
    const moveHeld = (by: number) => t.db.sql.begin(async (tx) => {
      await tx`UPDATE location_levels SET held = held + ${by} WHERE product_id = ${product.id} AND location_id = ${where!.locationId}`;
      await tx`UPDATE inventory_levels SET held = held + ${by} WHERE product_id = ${product.id}`;
    });
    expect(await broken(() => moveHeld(-1), () => moveHeld(1))).toEqual({ held: [], holds: [at], conversions: [], ...nothingElse });
    // A converted hold whose order was not given its units where they were held.
    const [given] = converted.items[0].allocations as { locationId: string }[];
    const allocations = JSON.stringify([{ productId: product.id, locationId: given!.locationId === far ? DEFAULT_LOCATION_ID : far, quantity: 3 }]);
    const [before] = await t.db.sql`SELECT allocations FROM orders WHERE id = ${order.body.id}`;
    expect(
      await broken(
        () => t.db.sql`UPDATE orders SET allocations = ${allocations}::jsonb WHERE id = ${order.body.id}`,
        () => t.db.sql`UPDATE orders SET allocations = ${JSON.stringify(before!.allocations)}::jsonb WHERE id = ${order.body.id}`,
      ),
    ).toEqual({ held: [], holds: [], conversions: [converted.id], ...nothingElse });
    await expectStockConsistent(t.db.sql);
  });
});
