import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { SimulatedGateway } from '../src/modules/payments/simulator.ts';
import { createProduct, orderReaches, placeOrder, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

let t: TestService;
let gateway: SimulatedGateway;
beforeAll(async () => {
  t = await startTestService();
  gateway = t.service.gateway as SimulatedGateway;
});
afterAll(() => t.close());

/** Orders that have a line for the product. */
const ordersFor = async (productId: string) =>
  (await t.db.sql`SELECT count(*)::int AS n FROM orders WHERE items @> ${JSON.stringify([{ productId }])}::jsonb`)[0]!.n as number;
const level = async (productId: string) => (await t.api.get(`/api/v1/products/${productId}/inventory`)).body;
const logs = async (orderId: string) => (await t.api.get(`/api/v1/orders/${orderId}/logs`, 'client')).body.items as { status: string; message: string; errorMessage: string | null }[];

describe('placing an order', () => {
  test('202 with the stored order, priced from the catalog, born reserved; then paid and processed', async () => {
    const shirt = await createProduct(t.api, { price: '19.99', initialStock: 10 });
    const mug = await createProduct(t.api, { price: '5.50', initialStock: 10 });
    const reply = await placeOrder(t.api, [{ productId: shirt.id, quantity: 2 }, { productId: mug.id, quantity: 3 }], { customerId: 'alice' });
    expect(reply.status).toBe(202);
    expect(reply.headers.get('location')).toBe(`/api/v1/orders/${reply.body.id}`);
    expect(reply.body).toMatchObject({
      customerId: 'alice',
      status: 'reserved',
      total: '56.48',
      attempts: 0,
      lastError: null,
      payment: null,
      items: [
        { productId: shirt.id, quantity: 2, unitPrice: '19.99' },
        { productId: mug.id, quantity: 3, unitPrice: '5.50' },
      ],
    });
    const [stored] = await t.db.sql`SELECT status, total::text FROM orders WHERE id = ${reply.body.id}`;
    expect(stored).toBeDefined(); // durable before the answer
    // Its stock was held by the same transaction that stored it.
    expect(['reserved', 'processed']).toContain(stored!.status);

    const done = await orderReaches(t.api, reply.body.id, ['processed']);
    expect(done.payment).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(done.nextAttemptAt).toBeNull();
    expect(await level(shirt.id)).toMatchObject({ onHand: 8, reserved: 0 });
    expect(await level(mug.id)).toMatchObject({ onHand: 7, reserved: 0 });
    expect((await logs(reply.body.id)).map((l) => [l.status, l.message])).toEqual([
      ['reserved', 'order accepted; stock reserved'],
      ['processed', `paid (charge ${done.payment.reference}); stock deducted`],
    ]);
    const charges = gateway.ledger.dump().charges.filter((c) => c.orderId === reply.body.id);
    expect(charges).toHaveLength(1);
    expect(charges[0]!.amount).toBe('56.48');
    const sales = await t.db.sql`SELECT product_id, delta FROM stock_movements WHERE ${reply.body.id}::uuid = ANY(order_ids) ORDER BY delta`;
    expect(sales.map((s) => s.delta)).toEqual([-3, -2]);
  });

  test('a later price change does not touch the unit price an order was accepted with', async () => {
    const product = await createProduct(t.api, { price: '10.00', initialStock: 5 });
    const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
    await t.api.patch(`/api/v1/products/${product.id}`, { price: '99.00' });
    const order = await orderReaches(t.api, reply.body.id, ['processed']);
    expect(order.items[0].unitPrice).toBe('10.00');
    expect(order.total).toBe('10.00');
  });

  test('validation: 422 per field, and nothing is stored', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const before = (await t.db.sql`SELECT count(*)::int AS n FROM orders`)[0]!.n;
    const cases: [unknown, string][] = [
      [{ items: [{ productId: product.id, quantity: 1 }] }, 'body.customerId'],
      [{ customerId: 'c', items: [] }, 'body.items'],
      [{ customerId: 'c', items: Array.from({ length: 51 }, () => ({ productId: product.id, quantity: 1 })) }, 'body.items'],
      [{ customerId: 'c', items: [{ productId: product.id, quantity: 0 }] }, 'body.items.0.quantity'],
      [{ customerId: 'c', items: [{ productId: product.id, quantity: 10_001 }] }, 'body.items.0.quantity'],
      [{ customerId: 'c', items: [{ productId: 'nope', quantity: 1 }] }, 'body.items.0.productId'],
      [{ customerId: 'c', items: [{ productId: product.id, quantity: 1 }, { productId: product.id, quantity: 2 }] }, 'body.items[1].productId'],
      [{ customerId: 'c', items: [{ productId: '01900000-0000-7000-8000-000000000000', quantity: 1 }] }, 'body.items[0].productId'],
    ];
    for (const [body, path] of cases) {
      const reply = await t.api.post('/api/v1/orders', body, 'client');
      expect(reply.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      expect(reply.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect((await t.db.sql`SELECT count(*)::int AS n FROM orders`)[0]!.n).toBe(before);
  });

  test('a total beyond what an order can store is a 422 for that order alone; orders placed with it go through', async () => {
    const dear = await createProduct(t.api, { price: '9999999999.99', initialStock: 1000 });
    const cheap = await createProduct(t.api, { price: '1.00', initialStock: 1000 });
    const [tooMuch, ...innocent] = await Promise.all([
      placeOrder(t.api, [{ productId: dear.id, quantity: 101 }]), // 1,009,999,999,998.99
      ...Array.from({ length: 10 }, () => placeOrder(t.api, [{ productId: cheap.id, quantity: 1 }])),
      placeOrder(t.api, [{ productId: dear.id, quantity: 100 }]), // 999,999,999,999.00: just fits numeric(14,2)
    ]);
    expect(tooMuch!.status).toBe(422);
    expect(tooMuch!.body.errors).toEqual([{ path: 'body.items', message: 'prices × quantities exceed 999999999999.99' }]);
    expect(innocent.map((r) => r.status)).toEqual(Array.from({ length: 11 }, () => 202));
    const held = await level(dear.id); // one read: between two, the order can move from reserved to sold
    expect(held.reserved + held.awaitingShipment).toBe(100);
    expect(await ordersFor(dear.id)).toBe(1);
  });

  test('an archived product cannot be ordered', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const first = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
    await orderReaches(t.api, first.body.id, ['processed']);
    expect((await t.api.delete(`/api/v1/products/${product.id}`)).status).toBe(204); // archived: orders refer to it
    const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
    expect(reply.status).toBe(422);
    expect(reply.body.errors[0].message).toContain('archived');
    expect((await t.api.get(`/api/v1/orders/${first.body.id}`, 'client')).body.status).toBe('processed');
  });

  test('orders need the client (or admin) token', async () => {
    const product = await createProduct(t.api, { initialStock: 1 });
    expect((await t.api.post('/api/v1/orders', { customerId: 'c', items: [{ productId: product.id, quantity: 1 }] }, 'anonymous')).status).toBe(401);
    expect((await t.api.get('/api/v1/orders', 'anonymous')).status).toBe(401);
    expect((await t.api.get('/api/v1/orders', 'admin')).status).toBe(200);
  });
});

describe('Idempotency-Key', () => {
  test('same key and body: the first answer again, whatever happened since', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const first = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { key: 'key-replay-1' });
    expect(first.status).toBe(202);
    await orderReaches(t.api, first.body.id, ['processed']);
    const again = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { key: 'key-replay-1' });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect((await t.db.sql`SELECT count(*)::int AS n FROM orders WHERE customer_id = 'customer-1' AND id = ${first.body.id}`)[0]!.n).toBe(1);
    expect((await level(product.id)).onHand).toBe(4);
  });

  test('same key, different body: 422, nothing stored', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { key: 'key-mismatch-1' });
    const other = await placeOrder(t.api, [{ productId: product.id, quantity: 2 }], { key: 'key-mismatch-1' });
    expect(other.status).toBe(422);
    expect(other.body.errors[0].path).toBe('headers.idempotency-key');
    expect(await ordersFor(product.id)).toBe(1);
  });

  test('20 concurrent requests with one key: one order; the others are 409 (in flight) or the same answer', async () => {
    const product = await createProduct(t.api, { initialStock: 50 });
    const replies = await Promise.all(Array.from({ length: 20 }, () => placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { key: 'key-burst-1' })));
    const accepted = replies.filter((r) => r.status === 202);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    expect(new Set(accepted.map((r) => r.body.id)).size).toBe(1);
    expect(replies.every((r) => r.status === 202 || r.status === 409)).toBe(true);
    expect(await ordersFor(product.id)).toBe(1);
    await orderReaches(t.api, accepted[0]!.body.id, ['processed']);
    expect((await level(product.id)).onHand).toBe(49);
  });

  test('keys longer than 255 characters are refused', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { key: 'k'.repeat(256) });
    expect(reply.status).toBe(422);
  });
});

describe('state machine', () => {
  test('cancel a pending order (waiting for stock): cancelled, nothing held, retries stop', async () => {
    const product = await createProduct(t.api, { initialStock: 0 });
    const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
    expect(reply.body).toMatchObject({ status: 'pending', attempts: 1 }); // its retry is scheduled
    const cancelled = await t.api.post(`/api/v1/orders/${reply.body.id}/cancel`, undefined, 'client');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    const version = async () => (await t.db.sql`SELECT version FROM orders WHERE id = ${reply.body.id}`)[0]!.version as number;
    const cancelledVersion = await version();
    await t.api.post(`/api/v1/products/${product.id}/inventory/adjustments`, { delta: 5, reason: 'restock' });
    // The sweep its retry timer would run, at a time past every retry it had scheduled (RETRY_MAX_MS
    // 200), then every stock step that sweep started: the order was not taken up again.
    await t.service.orders.worker.sweep(new Date(Date.now() + t.config.retryMaxMs));
    await waitFor(() => t.service.orders.worker.size === 0, 5_000, 'the worker to hold no order');
    await t.service.actors.drain();
    expect(await version()).toBe(cancelledVersion);
    expect((await t.api.get(`/api/v1/orders/${reply.body.id}`, 'client')).body.status).toBe('cancelled');
    expect(await level(product.id)).toMatchObject({ onHand: 5, reserved: 0 });
  });

  test('cancel a reserved order (payment under way): the reservation is released', async () => {
    const product = await createProduct(t.api, { initialStock: 3 });
    gateway.behaviour.failNext('hang');
    const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 2 }]);
    await orderReaches(t.api, reply.body.id, ['reserved']);
    expect(await level(product.id)).toMatchObject({ onHand: 3, reserved: 2 });
    const cancelled = await t.api.post(`/api/v1/orders/${reply.body.id}/cancel`, undefined, 'client');
    expect(cancelled.body.status).toBe('cancelled');
    expect(await level(product.id)).toMatchObject({ onHand: 3, reserved: 0 });
    // The hanging attempt times out (PAYMENT_TIMEOUT_MS 300) and the worker, finding the order moved on, lets go of it.
    await waitFor(() => t.service.orders.worker.size === 0, t.config.paymentTimeoutMs + 5_000, 'the worker to let go of the order');
    expect((await t.api.get(`/api/v1/orders/${reply.body.id}`, 'client')).body.status).toBe('cancelled');
    expect(gateway.ledger.dump().charges.filter((c) => c.orderId === reply.body.id)).toHaveLength(0);
  });

  test('cancel a processed order: restocked and refunded', async () => {
    const product = await createProduct(t.api, { initialStock: 4, price: '7.25' });
    const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 2 }]);
    await orderReaches(t.api, reply.body.id, ['processed']);
    expect((await level(product.id)).onHand).toBe(2);
    const cancelled = await t.api.post(`/api/v1/orders/${reply.body.id}/cancel`, undefined, 'client');
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(await level(product.id)).toMatchObject({ onHand: 4, reserved: 0, awaitingShipment: 0 });
    const refunded = await orderReaches(t.api, reply.body.id, ['cancelled']);
    const settled = await waitForPayment(reply.body.id, 'refunded');
    expect(settled.payment.reference).toBe(refunded.payment.reference);
    const { refunds, charges } = gateway.ledger.dump();
    const charge = charges.find((c) => c.orderId === reply.body.id)!;
    expect(refunds.filter((r) => r.chargeId === charge.id)).toEqual([expect.objectContaining({ amount: '14.50' })]);
    const movements = await t.db.sql`SELECT reason, delta FROM stock_movements WHERE ${reply.body.id}::uuid = ANY(order_ids) ORDER BY id`;
    expect(movements.map((m) => [m.reason, m.delta])).toEqual([
      ['sale', -2],
      ['restock', 2],
    ]);
  });

  test('cancelling a cancelled order answers 200 and changes nothing', async () => {
    const product = await createProduct(t.api, { initialStock: 0 });
    const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
    const first = await t.api.post(`/api/v1/orders/${reply.body.id}/cancel`, undefined, 'client');
    const second = await t.api.post(`/api/v1/orders/${reply.body.id}/cancel`, undefined, 'client');
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
  });

  test('failed and shipped orders cannot be cancelled; only processed orders ship', async () => {
    const waiting = await placeOrder(t.api, [{ productId: (await createProduct(t.api, { initialStock: 0 })).id, quantity: 1 }]);
    expect(waiting.body.status).toBe('pending');
    expect((await t.api.post(`/api/v1/orders/${waiting.body.id}/ship`, undefined, 'admin')).status).toBe(409);
    const product = await createProduct(t.api, { initialStock: 1 });
    const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
    await orderReaches(t.api, reply.body.id, ['processed']);
    expect((await t.api.post(`/api/v1/orders/${reply.body.id}/ship`, undefined, 'client')).status).toBe(403);
    expect(await level(product.id)).toMatchObject({ onHand: 0, awaitingShipment: 1 });
    const shipped = await t.api.post(`/api/v1/orders/${reply.body.id}/ship`, undefined, 'admin');
    expect(shipped.status).toBe(200);
    expect(shipped.body.status).toBe('shipped');
    expect(await level(product.id)).toMatchObject({ onHand: 0, awaitingShipment: 0 });
    expect((await logs(reply.body.id)).map((l) => l.status)).toEqual(['reserved', 'processed', 'shipped']);
    expect((await t.api.post(`/api/v1/orders/${reply.body.id}/ship`, undefined, 'admin')).status).toBe(409);
    expect((await t.api.post(`/api/v1/orders/${reply.body.id}/cancel`, undefined, 'client')).status).toBe(409);

    gateway.behaviour.failNext('decline');
    const declined = await placeOrder(t.api, [{ productId: (await createProduct(t.api, { initialStock: 1 })).id, quantity: 1 }]);
    const failed = await orderReaches(t.api, declined.body.id, ['failed']);
    expect(failed.lastError).toContain('declined');
    expect((await t.api.post(`/api/v1/orders/${declined.body.id}/cancel`, undefined, 'client')).status).toBe(409);
    expect((await t.api.post(`/api/v1/orders/${declined.body.id}/ship`, undefined, 'admin')).status).toBe(409);
    expect((await t.api.post('/api/v1/orders/01900000-0000-7000-8000-000000000000/cancel', undefined, 'client')).status).toBe(404);
    expect((await t.api.post('/api/v1/orders/01900000-0000-7000-8000-000000000000/ship', undefined, 'admin')).status).toBe(404);
  });

  test('logs come oldest first: the normal steps from the order, the rest from its rows, by number not as text', async () => {
    const product = await createProduct(t.api, { initialStock: 1 });
    await t.db.sql`SELECT setval(pg_get_serial_sequence('order_logs', 'id'), 99997)`;
    gateway.behaviour.failNext('error', 2);
    const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
    await orderReaches(t.api, reply.body.id, ['processed']);
    await t.api.post(`/api/v1/orders/${reply.body.id}/cancel`, undefined, 'client');
    await waitForPayment(reply.body.id, 'refunded');
    const rows: { id: string; status: string; message: string }[] = (await t.api.get(`/api/v1/orders/${reply.body.id}/logs`, 'client')).body.items;
    expect(rows.map((l) => l.status)).toEqual(['reserved', 'reserved', 'reserved', 'processed', 'cancelled', 'cancelled']);
    expect(rows.map((l) => (/^\d+$/.test(l.id) ? 'row' : l.id))).toEqual(['accepted', 'row', 'row', 'processed', 'row', 'row']);
    expect(rows[1]!.message).toContain('payment attempt 1 of 3 failed');
    expect(rows[5]!.message).toStartWith('refund ');
    // The stored rows' ids cross from 5 digits to 6 (other tests' orders may take some of the values).
    const ids = rows.filter((l) => /^\d+$/.test(l.id)).map((l) => Number(l.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(ids[0]).toBeLessThan(100_000);
    expect(ids.at(-1)).toBeGreaterThanOrEqual(100_000);
  });

  test('every status change and failed attempt has its log row', async () => {
    const product = await createProduct(t.api, { initialStock: 0 });
    const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
    const failed = await orderReaches(t.api, reply.body.id, ['failed']);
    expect(failed.attempts).toBe(3);
    expect(failed.lastError).toContain('insufficient stock');
    const rows = await logs(reply.body.id);
    expect(rows.map((l) => l.status)).toEqual(['pending', 'pending', 'pending', 'failed']);
    expect(rows[0]!.message).toBe('order accepted');
    expect(rows[1]!.message).toContain('attempt 1 of 3');
    expect(rows[1]!.errorMessage).toContain('insufficient stock');
    expect(rows[3]!.message).toContain('gave up after 3');
  });
});

describe('listing', () => {
  test('filters by status and customer, newest first, with a cursor', async () => {
    const product = await createProduct(t.api, { initialStock: 100 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: 'lister' })).body.id);
    for (const id of ids) await orderReaches(t.api, id, ['processed']);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await t.api.get(
        `/api/v1/orders?customerId=lister&status=processed&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        'client',
      );
      seen.push(...page.body.items.map((o) => o.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const bogus = await t.api.get('/api/v1/orders?status=bogus', 'client');
    expect(bogus.status).toBe(422);
    expect(bogus.body.errors).toEqual([{ path: 'query.status', message: expect.stringContaining('must be one of "pending", "reserved"') }]);
  });
});

function waitForPayment(orderId: string, status: string) {
  return waitFor(async () => {
    const order = (await t.api.get(`/api/v1/orders/${orderId}`, 'client')).body;
    return order.payment?.status === status ? order : undefined;
  }, 10_000, `the payment of ${orderId} to be ${status}`);
}
