import { afterAll, beforeAll, expect, test } from 'bun:test';
import { migrate, readMigrations } from '../src/db/migrate.ts';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { orderReaches, placeOrder, quietJobs, startTestService } from './support/service.ts';

/**
 * Migration 0003 (the order lifecycle) on a database that the previous code left mid-work: stop,
 * upgrade, start. Orders that were in flight finish under the new code; finished ones keep their
 * story, their idempotency key and their ledger rows.
 */
let db: TestDatabase;
beforeAll(async () => {
  const before = (await readMigrations()).map((m) => m.tag).filter((tag) => tag < '0003');
  db = await freshDatabase({ tags: before });
});
afterAll(() => db.drop());

const product = '01900000-0000-7000-8000-00000000f001';
const dead = '01900000-0000-7000-8000-00000000dead';
const done = '01900000-0000-7000-8000-00000000a001';
const waiting = '01900000-0000-7000-8000-00000000a002';
const paying = '01900000-0000-7000-8000-00000000a003';

/** What the previous code wrote, as it wrote it (order_items, idempotency_keys, a log row per step, a sale per order). */
async function oldShape() {
  const sql = db.sql;
  await sql`INSERT INTO products (id, sku, name, price) VALUES (${product}, 'OLD-1', 'Old', 4.00)`;
  // 10 counted; 2 sold to `done`; 1 held by `paying`.
  await sql`INSERT INTO inventory_levels (product_id, on_hand, reserved, awaiting_shipment) VALUES (${product}, 8, 1, 2)`;
  await sql`INSERT INTO stock_movements (product_id, delta, reason, on_hand_after) VALUES (${product}, 10, 'initial', 10)`;
  await sql`INSERT INTO stock_movements (product_id, delta, reason, order_id, on_hand_after) VALUES (${product}, -2, 'sale', ${done}, 8)`;
  await sql`
    INSERT INTO orders (id, customer_id, status, total, payment_status, payment_reference, payment_attempts, created_at, updated_at) VALUES
      (${done}, 'old-customer', 'processed', 8.00, 'succeeded', 'ch_old_1', 1, now() - interval '3 minutes', now() - interval '2 minutes')`;
  await sql`
    INSERT INTO orders (id, customer_id, status, total, attempts, lease_owner, lease_until) VALUES
      (${waiting}, 'old-customer', 'pending', 12.00, 0, ${dead}, now() + interval '1 hour'),
      (${paying}, 'old-customer', 'reserved', 4.00, 0, ${dead}, now() + interval '1 hour')`;
  await sql`
    INSERT INTO order_items (order_id, product_id, line, quantity, unit_price) VALUES
      (${done}, ${product}, 0, 2, 4.00), (${waiting}, ${product}, 0, 3, 4.00), (${paying}, ${product}, 0, 1, 4.00)`;
  await sql`INSERT INTO idempotency_keys (key, request_hash, order_id) VALUES ('old-key', 'hash-of-the-old-body', ${done})`;
  await sql`
    INSERT INTO order_logs (order_id, status, message, processed_at) VALUES
      (${done}, 'pending', 'order accepted', now() - interval '3 minutes'),
      (${done}, 'reserved', 'stock reserved: 2 × ${sql.unsafe(product)}', now() - interval '150 seconds'),
      (${done}, 'processed', 'paid (charge ch_old_1); stock deducted', now() - interval '2 minutes'),
      (${waiting}, 'pending', 'order accepted', now()),
      (${paying}, 'pending', 'order accepted', now()),
      (${paying}, 'reserved', 'stock reserved: 1 × x', now())`;
}

test('stop, upgrade, start: orders in flight finish, finished ones keep their story, key and ledger', async () => {
  await oldShape();
  const applied = await migrate(db.sql);
  expect(applied).toContain('0003_order_lifecycle');
  const t = await startTestService(quietJobs, { db });
  try {
    // The dead process's leases are void: the new start takes its orders up and finishes them.
    await orderReaches(t.api, paying, ['processed']);
    await orderReaches(t.api, waiting, ['processed']);
    expect((await t.api.get(`/api/v1/products/${product}/inventory`)).body).toMatchObject({ onHand: 4, reserved: 0, awaitingShipment: 6 });
    await expectStockConsistent(db.sql);

    // A finished order: its lines inline, its story derived from its steps, its ledger row naming it.
    const old = (await t.api.get(`/api/v1/orders/${done}`, 'client')).body;
    expect(old).toMatchObject({ status: 'processed', total: '8.00', items: [{ productId: product, quantity: 2, unitPrice: '4.00' }] });
    const story = (await t.api.get(`/api/v1/orders/${done}/logs`, 'client')).body.items;
    expect(story.map((l: { status: string; message: string }) => [l.status, l.message])).toEqual([
      ['pending', 'order accepted'],
      ['reserved', 'stock reserved'],
      ['processed', 'paid (charge ch_old_1); stock deducted'],
    ]);
    const movements = (await t.api.get(`/api/v1/products/${product}/inventory/movements`)).body.items;
    expect(movements.find((m: { orderId: string | null }) => m.orderId === done)).toMatchObject({ delta: -2, orderIds: [done] });

    // Its key is the client token's now: used again with another body, it is refused, not reused.
    const reused = await placeOrder(t.api, [{ productId: product, quantity: 1 }], { key: 'old-key', customerId: 'old-customer' });
    expect(reused.status).toBe(422);
    // Orders named the product: deleting it archives it.
    expect((await t.api.delete(`/api/v1/products/${product}`)).status).toBe(204);
    expect((await t.api.get(`/api/v1/products/${product}`)).body.archived).toBe(true);
  } finally {
    await t.close();
  }
});
