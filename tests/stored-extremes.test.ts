import { afterAll, beforeAll, expect, test } from 'bun:test';
import { quietJobs, startTestService, type TestService } from './support/service.ts';

/**
 * Whatever the columns can hold, the API can answer: the largest values the schema allows are
 * written with SQL (not through the API, whose request rules are narrower) and read back over
 * HTTP. A response schema narrower than its column turned one stored order into a 500 for every
 * page of the order list.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService(quietJobs, { background: false });
});
afterAll(() => t.close());

const INT_MAX = 2147483647;
const PRICE_MAX = '9999999999.99'; // numeric(12,2)
const TOTAL_MAX = '999999999999.99'; // numeric(14,2)
const long = (n: number) => 'é'.repeat(n);
const ids = {
  product: '01900000-0000-7000-8000-0000000000a1',
  cheap: '01900000-0000-7000-8000-0000000000a2',
  category: '01900000-0000-7000-8000-0000000000b1',
  order: '01900000-0000-7000-8000-0000000000c1',
  run: '01900000-0000-7000-8000-0000000000d1',
  parcel: '01900000-0000-7000-8000-0000000000e1',
  returned: '01900000-0000-7000-8000-0000000000e2',
};

test('the extremes of every column read back with 200 and the same values', async () => {
  const sql = t.db.sql;
  await sql`INSERT INTO products (id, sku, name, description, price) VALUES
    (${ids.product}, ${'S'.repeat(64)}, ${long(5000)}, ${long(20_000)}, ${PRICE_MAX}),
    (${ids.cheap}, 'CHEAP', 'c', '', 0)`;
  await sql`INSERT INTO inventory_levels (product_id, on_hand, reserved, awaiting_shipment) VALUES
    (${ids.product}, ${INT_MAX}, ${INT_MAX}, ${INT_MAX}), (${ids.cheap}, 0, 0, 0)`;
  await sql`INSERT INTO stock_movements (id, product_id, delta, reason, on_hand_after) OVERRIDING SYSTEM VALUE VALUES
    (9223372036854775807, ${ids.product}, ${INT_MAX}, ${long(10_000)}, ${INT_MAX}),
    (9223372036854775806, ${ids.product}, -2147483648, 'min', 0)`;
  await sql`INSERT INTO categories (id, name) VALUES (${ids.category}, ${long(10_000)})`;
  await sql`INSERT INTO product_categories (product_id, category_id) VALUES (${ids.product}, ${ids.category})`;
  const items = [
    { productId: ids.cheap, quantity: 1, unitPrice: '0.00' },
    { productId: ids.product, quantity: 10000, unitPrice: PRICE_MAX },
  ];
  await sql`INSERT INTO orders (id, customer_id, status, items, total, attempts, next_attempt_at, last_error, payment_status, payment_reference, payment_attempts, version, refunded)
    VALUES (${ids.order}, ${long(10_000)}, 'pending', ${JSON.stringify(items)}::jsonb, ${TOTAL_MAX}, ${INT_MAX}, '9999-12-31T23:59:59.999Z', ${long(10_000)}, 'refund_pending', ${long(1000)}, ${INT_MAX}, ${INT_MAX}, ${TOTAL_MAX})`;
  const units = JSON.stringify([{ productId: ids.product, quantity: INT_MAX }]);
  await sql`INSERT INTO fulfilments (id, order_id, location_id, items, tracking_number) VALUES (${ids.parcel}, ${ids.order}, stockroom_default_location(), ${units}::jsonb, ${long(10_000)})`;
  await sql`INSERT INTO returns (id, order_id, location_id, items, refund_status, refund_amount, refund_reference, refund_key)
    VALUES (${ids.returned}, ${ids.order}, stockroom_default_location(), ${JSON.stringify([{ productId: ids.product, quantity: INT_MAX, disposition: 'damaged' }])}::jsonb,
            'succeeded', ${TOTAL_MAX}, ${long(1000)}, ${long(1000)})`;
  await sql`INSERT INTO order_logs (id, order_id, status, message, error_message) OVERRIDING SYSTEM VALUE VALUES
    (9223372036854775807, ${ids.order}, 'pending', ${long(10_000)}, ${long(10_000)})`;
  await sql`INSERT INTO sync_runs (id, status, trigger, items_checked, items_adjusted, errors) VALUES
    (${ids.run}, 'partial', 'manual', ${INT_MAX}, ${INT_MAX}, ${JSON.stringify([{ sku: null, message: long(10_000) }])}::jsonb)`;

  const get = async (path: string) => {
    const reply = await t.api.get(path);
    expect(reply.status, `${path}: ${JSON.stringify(reply.body).slice(0, 300)}`).toBe(200);
    return reply.body;
  };
  const product = await get(`/api/v1/products/${ids.product}`);
  expect(product).toMatchObject({ price: PRICE_MAX, inventory: { onHand: INT_MAX, reserved: INT_MAX, available: 0 } });
  expect((await get('/api/v1/products')).items).toHaveLength(2);
  expect(await get(`/api/v1/products/${ids.product}/inventory`)).toMatchObject({ onHand: INT_MAX, awaitingShipment: INT_MAX });
  const movements = await get(`/api/v1/products/${ids.product}/inventory/movements?limit=1`);
  expect(movements.items[0]).toMatchObject({ id: '9223372036854775807', delta: INT_MAX, onHandAfter: INT_MAX });
  expect((await get(`/api/v1/products/${ids.product}/inventory/movements?cursor=${movements.nextCursor}`)).items[0].delta).toBe(-2147483648);
  expect((await get('/api/v1/categories')).items[0].name).toBe(long(10_000));
  expect((await get(`/api/v1/categories/${ids.category}/products`)).items).toHaveLength(1);
  const order = await get(`/api/v1/orders/${ids.order}`);
  expect(order).toMatchObject({
    total: TOTAL_MAX,
    attempts: INT_MAX,
    payment: { attempts: INT_MAX },
    nextAttemptAt: '9999-12-31T23:59:59.999Z',
    refunded: TOTAL_MAX,
    fulfilments: [{ id: ids.parcel, trackingNumber: long(10_000), items: [{ quantity: INT_MAX }] }],
    returns: [{ id: ids.returned, refund: { status: 'succeeded', amount: TOTAL_MAX, reference: long(1000) } }],
  });
  expect(order.items).toEqual([
    { productId: ids.cheap, quantity: 1, unitPrice: '0.00', allocations: [], shipped: 0, returned: 0 },
    { productId: ids.product, quantity: 10000, unitPrice: PRICE_MAX, allocations: [], shipped: INT_MAX, returned: INT_MAX },
  ]);
  expect((await get('/api/v1/orders')).items[0].total).toBe(TOTAL_MAX);
  expect((await get(`/api/v1/orders?customerId=${encodeURIComponent(long(100))}`)).items).toHaveLength(0);
  expect((await get(`/api/v1/orders/${ids.order}/logs`)).items.map((l: { id: string }) => l.id)).toEqual(['accepted', '9223372036854775807']);
  expect((await get('/api/v1/orders/counts')).counts.pending).toBe(1);
  expect((await get('/api/v1/warehouse/syncs')).items[0]).toMatchObject({ itemsChecked: INT_MAX, itemsAdjusted: INT_MAX });
});
