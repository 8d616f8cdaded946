import { afterAll, beforeAll, expect, test } from 'bun:test';
import { DEFAULT_LOCATION_ID } from '../src/db/schema/locations.ts';
import { stockViolations } from './support/violations.ts';
import { createProduct, orderReaches, placeOrder, startTestService, type TestService } from './support/service.ts';

/**
 * The invariant checker's checks of shipping and refunds fire on the states they forbid: each is
 * written into a consistent database with SQL (what a bug would leave), and found.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(() => t.close());

async function paid(quantity: number) {
  const product = await createProduct(t.api, { initialStock: quantity, price: '2.00' });
  const placed = await placeOrder(t.api, [{ productId: product.id, quantity }]);
  await orderReaches(t.api, placed.body.id, ['processed']);
  return { productId: product.id, orderId: placed.body.id as string };
}

const parcel = (orderId: string, productId: string, quantity: number) =>
  t.db.sql`INSERT INTO fulfilments (id, order_id, location_id, items) VALUES (${Bun.randomUUIDv7()}, ${orderId}, ${DEFAULT_LOCATION_ID}, ${JSON.stringify([{ productId, quantity }])}::jsonb)`;

test('a consistent database has none; each broken rule is named', async () => {
  const shipped = await paid(3);
  expect((await t.api.post(`/api/v1/orders/${shipped.orderId}/fulfilments`, { items: [{ productId: shipped.productId, quantity: 1 }] })).status).toBe(201);
  const clean = await stockViolations(t.db.sql);
  expect({ unshipped: clean.unshipped, shipments: clean.shipments, refunds: clean.refunds }).toEqual({ unshipped: [], shipments: [], refunds: [] });

  // A parcel recorded without awaiting shipment falling: sold ≠ shipped + awaiting shipment.
  const silent = await paid(2);
  await parcel(silent.orderId, silent.productId, 1);
  expect((await stockViolations(t.db.sql)).unshipped).toEqual([`${silent.productId}@${DEFAULT_LOCATION_ID}`]);
  await t.db.sql`UPDATE location_levels SET awaiting_shipment = awaiting_shipment - 1 WHERE product_id = ${silent.productId}`;
  await t.db.sql`UPDATE inventory_levels SET awaiting_shipment = awaiting_shipment - 1 WHERE product_id = ${silent.productId}`;

  // More shipped than was allocated there; a shipped order whose parcels ship less than it had.
  const over = await paid(1);
  await parcel(over.orderId, over.productId, 2);
  await t.db.sql`UPDATE orders SET status = 'shipped' WHERE id = ${silent.orderId}`;
  const found = await stockViolations(t.db.sql);
  expect(found.shipments.map((s) => s.split(' ')[0]).sort()).toEqual([over.orderId, silent.orderId].sort());

  // Refunded past the total, and other than the returns' succeeded refunds; the provider's books say less.
  await t.db.sql`UPDATE orders SET refunded = total + 0.01 WHERE id = ${shipped.orderId}`;
  const refunds = (await stockViolations(t.db.sql, { charges: [], refunds: [] })).refunds;
  expect(refunds.some((r) => r.startsWith(`${shipped.orderId} processed total 6.00 refunded 6.01`))).toBe(true);
  expect(refunds.some((r) => r.startsWith(`${shipped.orderId} records 6.01 refunded, the provider refunded 0`))).toBe(true);
  const [charge] = await t.db.sql<{ id: string }[]>`SELECT payment_reference AS id FROM orders WHERE id = ${shipped.orderId}`;
  const overRefunded = (await stockViolations(t.db.sql, { charges: [{ id: charge!.id, amount: '6.00' }], refunds: [{ chargeId: charge!.id, amount: '6.01' }] })).refunds;
  expect(overRefunded).toContain(`charge ${charge!.id} of 6.00 refunded 6.01`);
});
