import { afterAll, beforeAll, beforeEach, describe, expect, spyOn, test } from 'bun:test';
import { DEFAULT_LOCATION_ID } from '../src/db/schema/locations.ts';
import { chargeKey, returnRefundKey } from '../src/modules/payments/gateway.ts';
import { createPaymentServer, type PaymentServer } from '../src/modules/payments/server.ts';
import { levelsOf, newLocation, orderState, stockAt, webhookEventsOf } from './support/after-sale.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { createProduct, orderReaches, placeOrder, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * Returns and their refunds, against the standalone payment simulator over HTTP (PAYMENT_URL): its
 * own books are where a refund made twice, or beyond the charge, would show. The reconciler looks
 * every second, as it would in production (with shorter waits).
 */
let payments: PaymentServer;
let t: TestService;
beforeAll(async () => {
  payments = createPaymentServer({ port: 0, settings: { failureRate: 0, timeoutRate: 0, latencyMs: { min: 0, max: 0 } } });
  t = await startTestService({ PAYMENT_URL: payments.url, PAYMENT_TIMEOUT_MS: '300', RECONCILE_CRON: '* * * * * *', RECONCILE_RETRY_BASE_MS: '200', RECONCILE_RETRY_MAX_MS: '400' });
});
afterAll(async () => {
  await t.close();
  await payments.stop();
});
beforeEach(() => payments.behaviour.clearForced());

const books = () => payments.ledger.dump();
const chargeOf = (orderId: string) => books().charges.find((c) => c.idempotencyKey === chargeKey(orderId))!;
const refundsOf = (orderId: string) => books().refunds.filter((r) => r.chargeId === chargeOf(orderId).id);
const takeBack = (orderId: string, body: unknown, headers?: Record<string, string>) => t.api.post(`/api/v1/orders/${orderId}/returns`, body, 'admin', headers);
const orderOf = async (orderId: string) => (await t.api.get(`/api/v1/orders/${orderId}`)).body;

/** Two products, an order for 3 × 10.00 and 2 × 5.50 (41.00), paid and shipped from the default location. */
async function shippedOrder() {
  const a = await createProduct(t.api, { initialStock: 3, price: '10.00' });
  const b = await createProduct(t.api, { initialStock: 2, price: '5.50' });
  const placed = await placeOrder(t.api, [
    { productId: a.id, quantity: 3 },
    { productId: b.id, quantity: 2 },
  ]);
  await orderReaches(t.api, placed.body.id, ['processed']);
  expect((await t.api.post(`/api/v1/orders/${placed.body.id}/ship`)).body.status).toBe('shipped');
  return { a: a.id, b: b.id, id: placed.body.id as string };
}

describe('returns and their refunds', () => {
  test('restocked and damaged units come back; each refund is their value; two returns of everything refund exactly the total, as the provider agrees', async () => {
    const { a, b, id } = await shippedOrder();
    const first = await takeBack(id, { items: [{ productId: a, quantity: 1, disposition: 'restock' }, { productId: b, quantity: 1, disposition: 'damaged' }] });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ orderId: id, locationId: DEFAULT_LOCATION_ID, refund: { status: 'succeeded', amount: '15.50' } });
    expect(first.body.refund.reference).toBe(refundsOf(id)[0]!.id);
    // The restocked unit is on hand again where it shipped from, with a movement naming the return; the damaged one changes nothing.
    expect(await levelsOf(t.api, a)).toEqual({ [DEFAULT_LOCATION_ID]: { onHand: 1, reserved: 0, awaitingShipment: 0 } });
    expect(await levelsOf(t.api, b)).toEqual({ [DEFAULT_LOCATION_ID]: { onHand: 0, reserved: 0, awaitingShipment: 0 } });
    const [movement] = (await t.api.get(`/api/v1/products/${a}/inventory/movements`)).body.items;
    expect(movement).toMatchObject({ reason: 'return', delta: 1, returnId: first.body.id, locationId: DEFAULT_LOCATION_ID, onHandAfter: 1 });
    expect(await orderOf(id)).toMatchObject({
      status: 'shipped',
      refunded: '15.50',
      items: [
        { productId: a, shipped: 3, returned: 1 },
        { productId: b, shipped: 2, returned: 1 },
      ],
      returns: [first.body],
    });

    const second = await takeBack(id, { items: [{ productId: a, quantity: 2, disposition: 'restock' }, { productId: b, quantity: 1, disposition: 'restock' }] });
    expect(second.body.refund).toMatchObject({ status: 'succeeded', amount: '25.50' });
    expect((await orderOf(id)).refunded).toBe('41.00');
    expect(refundsOf(id).map((r) => r.amount)).toEqual(['15.50', '25.50']);
    expect(chargeOf(id).amount).toBe('41.00');
    // Nothing is left to return, nor to refund.
    expect((await takeBack(id, { items: [{ productId: a, quantity: 1, disposition: 'restock' }] })).status).toBe(409);
    const more = await fetch(`${payments.url}/charges/${chargeOf(id).id}/refunds`, { method: 'POST', headers: { 'idempotency-key': `more-${id}` }, body: '{"amount":"0.01"}' });
    expect(more.status).toBe(422);

    const events = (await webhookEventsOf(t.db.sql, id)).filter((e) => e.type === 'order.returned');
    expect(events.map((e) => (e.data.return as { id: string }).id)).toEqual([first.body.id, second.body.id]);
    // A snapshot as of the return: its refund was not answered yet when the return was stored.
    expect(events[0]!.data).toMatchObject({ status: 'shipped', refunded: '0.00', items: [{ returned: 1 }, { returned: 1 }], return: { refund: { status: 'pending' } } });
    await expectStockConsistent(t.db.sql, books());
  });

  test('from a partly shipped order: named or defaulted location, the order stays processed and ships the rest', async () => {
    const north = await newLocation(t.db.sql, 'north');
    const product = await createProduct(t.api, { initialStock: 3, price: '4.00' });
    await stockAt(t.api, product.id, north, 4);
    const placed = await placeOrder(t.api, [{ productId: product.id, quantity: 6 }]);
    await orderReaches(t.api, placed.body.id, ['processed']);
    const id = placed.body.id;
    expect((await t.api.post(`/api/v1/orders/${id}/fulfilments`, { locationId: north, items: [{ productId: product.id, quantity: 4 }] })).status).toBe(201);
    const back = await takeBack(id, { items: [{ productId: product.id, quantity: 1, disposition: 'restock' }] });
    expect(back.status).toBe(201);
    expect(back.body).toMatchObject({ locationId: north, refund: { status: 'succeeded', amount: '4.00' } });
    // To a store it did not ship from, named.
    const store = await takeBack(id, { locationId: DEFAULT_LOCATION_ID, items: [{ productId: product.id, quantity: 1, disposition: 'restock' }] });
    expect(store.body.locationId).toBe(DEFAULT_LOCATION_ID);
    expect(await levelsOf(t.api, product.id)).toEqual({
      [DEFAULT_LOCATION_ID]: { onHand: 2, reserved: 0, awaitingShipment: 2 },
      [north]: { onHand: 1, reserved: 0, awaitingShipment: 0 },
    });
    expect(await orderOf(id)).toMatchObject({ status: 'processed', refunded: '8.00', items: [{ shipped: 4, returned: 2 }] });
    expect((await t.api.post(`/api/v1/orders/${id}/ship`)).body.status).toBe('shipped');
    // Shipped from two places now: a return must say where it came back to.
    const unnamed = await takeBack(id, { items: [{ productId: product.id, quantity: 1, disposition: 'damaged' }] });
    expect(unnamed.status).toBe(422);
    expect(unnamed.body.errors[0].path).toBe('body.locationId');
    await expectStockConsistent(t.db.sql, books());
  });

  test('refused returns change nothing: 422 for what can never be valid, 409 for what the state forbids', async () => {
    const { a, id } = await shippedOrder();
    const other = await createProduct(t.api, { initialStock: 1 });
    const closed = await newLocation(t.db.sql, 'closed');
    await t.db.sql`UPDATE locations SET active = false WHERE id = ${closed}`;
    const before = { order: await orderState(t.db.sql, id), levels: await levelsOf(t.api, a), refunds: refundsOf(id).length };
    const line = (quantity: number, productId = a) => ({ productId, quantity, disposition: 'restock' });
    const cases: [unknown, number, string][] = [
      [{ items: [line(1, other.id)] }, 422, 'body.items[0].productId'],
      [{ items: [line(1), line(1)] }, 422, 'body.items[1].productId'],
      [{ items: [line(4)] }, 409, ''], // 3 shipped
      [{ locationId: crypto.randomUUID(), items: [line(1)] }, 422, 'body.locationId'],
      [{ locationId: closed, items: [line(1)] }, 422, 'body.locationId'],
      [{ items: [{ productId: a, quantity: 1, disposition: 'lost' }] }, 422, 'body.items.0.disposition'],
      [{ items: [line(1)], refund: 'yes' }, 422, 'body.refund'],
    ];
    for (const [body, status, path] of cases) {
      const reply = await takeBack(id, body);
      expect({ body, status: reply.status }).toEqual({ body, status });
      if (path) expect(reply.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    // Paid, nothing shipped: nothing can come back.
    const waiting = await createProduct(t.api, { initialStock: 1 });
    const unshipped = await placeOrder(t.api, [{ productId: waiting.id, quantity: 1 }]);
    await orderReaches(t.api, unshipped.body.id, ['processed']);
    expect((await takeBack(unshipped.body.id, { items: [line(1, waiting.id)] })).status).toBe(409);
    expect({ order: await orderState(t.db.sql, id), levels: await levelsOf(t.api, a), refunds: refundsOf(id).length }).toEqual(before);
  });

  test('refund: false takes the units back without money', async () => {
    const { a, id } = await shippedOrder();
    const back = await takeBack(id, { items: [{ productId: a, quantity: 2, disposition: 'restock' }], refund: false });
    expect(back.status).toBe(201);
    expect(back.body.refund).toBeNull();
    expect(await orderOf(id)).toMatchObject({ refunded: '0.00', items: [{ returned: 2 }, { returned: 0 }] });
    expect(refundsOf(id)).toEqual([]);
  });

  test('an Idempotency-Key takes one return and makes one refund', async () => {
    const { a, id } = await shippedOrder();
    const body = { items: [{ productId: a, quantity: 1, disposition: 'restock' }] };
    const key = { 'idempotency-key': `return-once-${id}` };
    const first = await takeBack(id, body, key);
    const again = await takeBack(id, body, key);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect((await takeBack(id, { ...body, refund: false }, key)).status).toBe(422);
    expect(refundsOf(id)).toHaveLength(1);
    expect((await orderOf(id)).items[0].returned).toBe(1);
  });
});

describe('refunds whose outcome is unknown are settled by the service, once', () => {
  test.each(['refund-error', 'refund-then-drop'] as const)('%s: answered pending, then settled by itself; the provider made one refund', async (mode) => {
    const { b, id } = await shippedOrder();
    payments.behaviour.failNext(mode);
    const back = await takeBack(id, { items: [{ productId: b, quantity: 2, disposition: 'damaged' }] });
    expect(back.status).toBe(201);
    expect(back.body.refund).toEqual({ status: 'pending', amount: '11.00', reference: null });
    expect((await orderOf(id)).refunded).toBe('0.00');
    const settled = await waitFor(async () => {
      const order = await orderOf(id);
      return order.returns[0].refund.status === 'succeeded' ? order : undefined;
    }, 10_000, 'the reconciler to settle the refund');
    expect(settled.refunded).toBe('11.00');
    expect(refundsOf(id).map((r) => [r.id, r.amount])).toEqual([[settled.returns[0].refund.reference, '11.00']]);
    const logs = (await t.api.get(`/api/v1/orders/${id}/logs`)).body.items.filter((l: { message: string }) => l.message.startsWith('refund '));
    expect(logs).toHaveLength(1);
    await expectStockConsistent(t.db.sql, books());
  });

  test('two looks at one pending refund at once: the provider answers both with one refund, and it is recorded once', async () => {
    const { a, id } = await shippedOrder();
    payments.behaviour.failNext('refund-error');
    const back = (await takeBack(id, { items: [{ productId: a, quantity: 2, disposition: 'restock' }] })).body;
    expect(back.refund.status).toBe('pending');
    const item = { returnId: back.id, orderId: id, chargeId: chargeOf(id).id, key: returnRefundKey(back.id), amount: '20.00', attempts: 1, lastChance: false };
    const outcomes = await Promise.all([t.service.orders.refunds.ask(item), t.service.orders.refunds.ask(item)]);
    expect(outcomes).toEqual(['refunded', 'refunded']);
    expect((await orderOf(id)).refunded).toBe('20.00');
    expect(refundsOf(id)).toHaveLength(1);
    await expectStockConsistent(t.db.sql, books());
  });

  test('a provider that answers late: the refund asked for again meanwhile is the one it books, not a second', async () => {
    const { a, id } = await shippedOrder();
    payments.behaviour.failNext('refund-late');
    const booked = spyOn(payments.ledger, 'refund');
    try {
      // 10.00 of a 41.00 charge: the provider's own cap could not hide a second refund.
      const back = await takeBack(id, { items: [{ productId: a, quantity: 1, disposition: 'restock' }] });
      expect(back.body.refund.status).toBe('pending');
      // The call timed out; the next look asks again, under the same key, while the first is still on its way.
      await waitFor(async () => (await orderOf(id)).refunded === '10.00', 5_000, 'the refund asked for again');
      await waitFor(() => booked.mock.calls.length === 2, 5_000, 'both calls to have reached the provider\'s books');
      expect(refundsOf(id).map((r) => r.amount)).toEqual(['10.00']);
      expect((await orderOf(id)).refunded).toBe('10.00');
    } finally {
      booked.mockRestore();
    }
    await expectStockConsistent(t.db.sql, books());
  });

  test('the provider refuses more than is left of the charge: the refund fails for good, is never asked again, and a person is told', async () => {
    const { a, id } = await shippedOrder();
    // Someone refunded most of the charge outside the service: 1.00 is left.
    const outside = await fetch(`${payments.url}/charges/${chargeOf(id).id}/refunds`, { method: 'POST', headers: { 'idempotency-key': `outside-${id}` }, body: '{"amount":"40.00"}' });
    expect(outside.status).toBe(201);
    const back = await takeBack(id, { items: [{ productId: a, quantity: 1, disposition: 'restock' }] });
    expect(back.status).toBe(201);
    expect(back.body.refund).toEqual({ status: 'failed', amount: '10.00', reference: null });
    const [row] = await t.db.sql`SELECT refund_due_at, refund_attention FROM returns WHERE id = ${back.body.id}`;
    expect(row!.refund_due_at).toBeNull();
    expect(row!.refund_attention).toContain('refused');
    expect((await orderOf(id)).refunded).toBe('0.00');
    const logs = (await t.api.get(`/api/v1/orders/${id}/logs`)).body.items;
    expect(logs.at(-1).message).toStartWith('needs a person:');
    expect((await t.api.get('/metrics')).body).toMatch(/payment_reconciliations_total\{result="attention"\} [1-9]/);
    expect(refundsOf(id).map((r) => r.amount)).toEqual(['40.00']);
    // The units are back all the same.
    expect((await levelsOf(t.api, a))[DEFAULT_LOCATION_ID]!.onHand).toBe(1);
  });
});

describe('returns under concurrency', () => {
  test('30 returns race for the 10 units of one order while its product is adjusted: exactly 10 come back, refunds add up to the total, never more', async () => {
    const product = await createProduct(t.api, { initialStock: 10, price: '3.00' });
    const placed = await placeOrder(t.api, [{ productId: product.id, quantity: 10 }]);
    await orderReaches(t.api, placed.body.id, ['processed']);
    const id = placed.body.id;
    await t.api.post(`/api/v1/orders/${id}/ship`);
    const returns = Array.from({ length: 30 }, (_, i) => takeBack(id, { items: [{ productId: product.id, quantity: 1, disposition: i % 3 ? 'restock' : 'damaged' }] }));
    const adjustments = Array.from({ length: 10 }, () => t.api.post(`/api/v1/products/${product.id}/inventory/adjustments`, { delta: 1, reason: 'found' }));
    const replies = await Promise.all(returns);
    await Promise.all(adjustments);
    const made = replies.filter((r) => r.status === 201);
    expect(made).toHaveLength(10);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(20);
    expect(made.every((r) => r.body.refund.status === 'succeeded' && r.body.refund.amount === '3.00')).toBe(true);
    expect((await orderOf(id)).refunded).toBe('30.00');
    expect(refundsOf(id)).toHaveLength(10);
    const restocked = made.filter((r) => r.body.items[0].disposition === 'restock').length;
    expect((await t.api.get(`/api/v1/products/${product.id}/inventory`)).body.onHand).toBe(10 + restocked);
    await expectStockConsistent(t.db.sql, books());
  }, 30_000);
});

describe('cancels', () => {
  test('a cancel refunds what is left of the charge, and the order counts it in `refunded`', async () => {
    const product = await createProduct(t.api, { initialStock: 2, price: '6.25' });
    const placed = await placeOrder(t.api, [{ productId: product.id, quantity: 2 }]);
    await orderReaches(t.api, placed.body.id, ['processed']);
    expect((await t.api.post(`/api/v1/orders/${placed.body.id}/cancel`, undefined, 'client')).body.status).toBe('cancelled');
    const order = await waitFor(async () => {
      const current = await orderOf(placed.body.id);
      return current.payment.status === 'refunded' ? current : undefined;
    }, 10_000, 'the refund of the cancel');
    expect(order.refunded).toBe('12.50');
    expect(refundsOf(placed.body.id).map((r) => r.amount)).toEqual(['12.50']);
    await expectStockConsistent(t.db.sql, books());
  });
});
