import { afterAll, beforeAll, beforeEach, describe, expect, spyOn, test } from 'bun:test';
import { createPaymentServer, type PaymentServer } from '../src/modules/payments/server.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { createProduct, orderReaches, placeOrder, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/** The service talks to the standalone payment simulator over real HTTP (PAYMENT_URL). */
let payments: PaymentServer;
let t: TestService;
beforeAll(async () => {
  payments = createPaymentServer({ port: 0, settings: { failureRate: 0, timeoutRate: 0, latencyMs: { min: 0, max: 0 } } });
  t = await startTestService({ PAYMENT_URL: payments.url, PAYMENT_TIMEOUT_MS: '300', PAYMENT_MAX_ATTEMPTS: '3', RETRY_BASE_MS: '20', RETRY_MAX_MS: '60' });
});
afterAll(async () => {
  await t.close();
  await payments.stop();
});
beforeEach(() => {
  payments.behaviour.clearForced();
  payments.behaviour.settings = { failureRate: 0, timeoutRate: 0, latencyMs: { min: 0, max: 0 } };
});

const chargesOf = (orderId: string) => payments.ledger.dump().charges.filter((c) => c.orderId === orderId);
const level = async (productId: string) => (await t.api.get(`/api/v1/products/${productId}/inventory`)).body;

async function order(quantity = 1, stock = 5) {
  const product = await createProduct(t.api, { initialStock: stock, price: '12.00' });
  const reply = await placeOrder(t.api, [{ productId: product.id, quantity }]);
  expect(reply.status).toBe(202);
  return { product, id: reply.body.id as string };
}

describe('payments over HTTP', () => {
  test('a decline fails the order at once and releases its stock', async () => {
    payments.behaviour.failNext('decline');
    const { product, id } = await order(2);
    const failed = await orderReaches(t.api, id, ['failed']);
    expect(failed.payment).toMatchObject({ status: 'declined', attempts: 1 });
    expect(failed.lastError).toContain('declined');
    expect(await level(product.id)).toMatchObject({ onHand: 5, reserved: 0 });
    expect(chargesOf(id).map((c) => c.status)).toEqual(['declined']);
  });

  test('a 500 is retried with the same key; the order is charged once', async () => {
    payments.behaviour.failNext('error');
    const { product, id } = await order();
    const done = await orderReaches(t.api, id, ['processed']);
    expect(done.payment).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(chargesOf(id)).toHaveLength(1);
    expect((await level(product.id)).onHand).toBe(4);
    const logs = (await t.api.get(`/api/v1/orders/${id}/logs`, 'client')).body.items;
    expect(logs.map((l: { status: string }) => l.status)).toEqual(['reserved', 'reserved', 'processed']);
    expect(logs[1].message).toContain('payment attempt 1 of 3 failed');
    expect(logs[1].errorMessage).toContain('500');
  });

  test('charge, then the connection drops: the retry finds the charge instead of charging again', async () => {
    payments.behaviour.failNext('charge-then-drop');
    const { id } = await order();
    const done = await orderReaches(t.api, id, ['processed']);
    expect(chargesOf(id)).toHaveLength(1);
    expect(done.payment.reference).toBe(chargesOf(id)[0]!.id);
  });

  test('a charge that lands after the client timed out is found, not repeated', async () => {
    // Every call takes longer than the 300 ms client timeout, but the provider still books it.
    payments.behaviour.settings = { ...payments.behaviour.settings, latencyMs: { min: 450, max: 450 } };
    const arrived = spyOn(payments.behaviour, 'next'); // once per charge request, as it arrives
    const booked = spyOn(payments.ledger, 'charge'); // once per charge request, after its latency
    try {
      const { id } = await order();
      const done = await orderReaches(t.api, id, ['processed'], 15_000);
      expect(done.payment.status).toBe('succeeded');
      // No charge request is still at the provider: each one that arrived has been through its books.
      await waitFor(() => booked.mock.calls.length === arrived.mock.calls.length, 5_000, 'the provider to finish every charge request');
      expect(chargesOf(id)).toHaveLength(1);
      expect(done.payment.reference).toBe(chargesOf(id)[0]!.id);
    } finally {
      arrived.mockRestore();
      booked.mockRestore();
    }
  });

  test('no answer at all, every attempt: failed after PAYMENT_MAX_ATTEMPTS, stock released, nothing charged', async () => {
    payments.behaviour.failNext('hang', 3);
    const { product, id } = await order(3);
    const failed = await orderReaches(t.api, id, ['failed'], 15_000);
    expect(failed.payment).toMatchObject({ status: 'failed', attempts: 3 });
    expect(failed.lastError).toContain('gave up after 3 attempts');
    expect(await level(product.id)).toMatchObject({ onHand: 5, reserved: 0 });
    expect(chargesOf(id)).toHaveLength(0);
  });

  test('cancel while the charge is in flight: the charge that lands is refunded, the stock is back', async () => {
    payments.behaviour.settings = { ...payments.behaviour.settings, latencyMs: { min: 150, max: 150 } };
    const { product, id } = await order(2);
    await orderReaches(t.api, id, ['reserved']);
    const cancelled = await t.api.post(`/api/v1/orders/${id}/cancel`, undefined, 'client');
    expect(cancelled.body.status).toBe('cancelled');
    const refunded = await waitFor(
      async () => {
        const current = (await t.api.get(`/api/v1/orders/${id}`, 'client')).body;
        return current.payment?.status === 'refunded' ? current : null;
      },
      10_000,
      'the refund',
    );
    expect(refunded.status).toBe('cancelled');
    const charges = chargesOf(id);
    expect(charges).toHaveLength(1);
    expect(payments.ledger.dump().refunds.filter((r) => r.chargeId === charges[0]!.id)).toHaveLength(1);
    expect(await level(product.id)).toMatchObject({ onHand: 5, reserved: 0 });
    await expectStockConsistent(t.db.sql);
  });

  test('the simulator server: idempotent charges, lookups, refunds, control', async () => {
    const charge = (key: string) =>
      fetch(`${payments.url}/charges`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ orderId: 'o-1', amount: '9.99', currency: 'USD' }),
      });
    const first = await charge('sim-key-1');
    expect(first.status).toBe(201);
    const again = await charge('sim-key-1');
    expect(again.status).toBe(200);
    const a = (await first.json()) as { id: string };
    expect(((await again.json()) as { id: string }).id).toBe(a.id);
    const found = (await (await fetch(`${payments.url}/charges?idempotencyKey=sim-key-1`)).json()) as { items: { id: string }[] };
    expect(found.items.map((c) => c.id)).toEqual([a.id]);
    const none = (await (await fetch(`${payments.url}/charges?idempotencyKey=nope`)).json()) as { items: unknown[] };
    expect(none.items).toEqual([]);
    const refund = (key: string) =>
      fetch(`${payments.url}/charges/${a.id}/refunds`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: '{"amount":"9.99"}' });
    expect((await refund('r-1')).status).toBe(201);
    expect((await refund('r-1')).status).toBe(200);
    expect((await fetch(`${payments.url}/charges`, { method: 'POST', body: '{}' })).status).toBe(400);
    expect((await fetch(`${payments.url}/control/fail`, { method: 'POST', body: '{"mode":"error"}' })).status).toBe(200);
    expect((await charge('sim-key-2')).status).toBe(500);
    expect((await charge('sim-key-2')).status).toBe(201);
  });
});

describe('partial refunds', () => {
  const charged = async (key: string, amount: string) => {
    const reply = await fetch(`${payments.url}/charges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ orderId: key, amount, currency: 'USD' }),
    });
    return ((await reply.json()) as { id: string }).id;
  };
  const refund = (chargeId: string, key: string, body: string) =>
    fetch(`${payments.url}/charges/${chargeId}/refunds`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body });

  test('the simulator server refunds a charge in parts, what is left by default, and refuses more than is left with 422', async () => {
    const chargeId = await charged(`partial-${crypto.randomUUID()}`, '10.00');
    const first = await refund(chargeId, 'p-1', '{"amount":"3.50"}');
    expect(first.status).toBe(201);
    expect(await first.json()).toMatchObject({ chargeId, amount: '3.50', status: 'succeeded' });
    expect((await refund(chargeId, 'p-2', '{"amount":"6.51"}')).status).toBe(422);
    expect((await refund(chargeId, 'p-2', '{"amount":3}')).status).toBe(422);
    expect((await refund(chargeId, 'p-2', '[]')).status).toBe(422);
    const rest = await refund(chargeId, 'p-3', '');
    expect(rest.status).toBe(201);
    expect(((await rest.json()) as { amount: string }).amount).toBe('6.50');
    // Nothing is left; a repeated key still answers its first refund (and refunds nothing more).
    expect((await refund(chargeId, 'p-4', '{}')).status).toBe(422);
    const repeat = await refund(chargeId, 'p-1', '{"amount":"3.50"}');
    expect(repeat.status).toBe(200);
    expect(((await repeat.json()) as { amount: string }).amount).toBe('3.50');
    const refunds = payments.ledger.dump().refunds.filter((r) => r.chargeId === chargeId);
    expect(refunds.map((r) => r.amount)).toEqual(['3.50', '6.50']);
    expect((await refund('ch_unknown', 'p-5', '{}')).status).toBe(404);
  });

  test('the HTTP gateway sends the amount (or none), and a refusal is permanent: never retried', async () => {
    const { HttpPaymentGateway } = await import('../src/modules/payments/http-gateway.ts');
    const gateway = new HttpPaymentGateway(payments.url, 1_000);
    const chargeId = await charged(`gateway-${crypto.randomUUID()}`, '5.00');
    expect((await gateway.refund(chargeId, 'g-1', '2.00')).amount).toBe('2.00');
    expect(await gateway.refund(chargeId, 'g-2', '3.01').catch((error: { kind: string }) => error.kind)).toBe('permanent');
    expect((await gateway.refund(chargeId, 'g-3')).amount).toBe('3.00');
    payments.behaviour.failNext('refund-error');
    expect(await gateway.refund(chargeId, 'g-4', '1.00').catch((error: { kind: string }) => error.kind)).toBe('unknown');
  });
});

describe('the in-process simulator', () => {
  test('keeps a bounded ledger: the oldest charges go first, a repeated key is still not charged twice', async () => {
    const { PaymentLedger } = await import('../src/modules/payments/ledger.ts');
    const ledger = new PaymentLedger({ now: () => 0 }, 3);
    const charge = (key: string) => ledger.charge({ idempotencyKey: key, orderId: key, amount: '1.00', currency: 'USD' }, 'succeeded');
    for (const key of ['a', 'b', 'c', 'd']) charge(key);
    expect(ledger.find('a')).toBeNull();
    expect(ledger.dump().charges.map((c) => c.idempotencyKey)).toEqual(['b', 'c', 'd']);
    expect(charge('d').created).toBe(false);
  });
});
