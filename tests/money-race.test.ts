import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { chargeKey } from '../src/modules/payments/gateway.ts';
import { createPaymentServer, type PaymentServer } from '../src/modules/payments/server.ts';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { createProduct, orderReaches, placeOrder, quietJobs, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * A payment call whose outcome is unknown, on an order that moves on meanwhile: the provider
 * books the charge after the client gave up (`charge-late`: 1.5 s after the request, no answer;
 * the client's timeout is 0.8 s). Whichever way the order moved on (cancelled, taken over by
 * another process, failed), the charge that lands is found and refunded, within a stated deadline.
 */
const REFUND_DEADLINE_MS = 8_000;

let payments: PaymentServer;
let db: TestDatabase;
const services: TestService[] = [];
beforeAll(async () => {
  payments = createPaymentServer({ port: 0, settings: { failureRate: 0, timeoutRate: 0, latencyMs: { min: 0, max: 0 } } });
  db = await freshDatabase();
});
afterEach(async () => {
  for (const s of services.splice(0)) await s.close();
  payments.behaviour.clearForced();
});
afterAll(async () => {
  await payments.stop();
  await db.drop();
});

const env = {
  ...quietJobs,
  PAYMENT_URL: '',
  PAYMENT_TIMEOUT_MS: '800',
  RECONCILE_CRON: '* * * * * *',
  RECONCILE_RETRY_BASE_MS: '500',
  RECONCILE_RETRY_MAX_MS: '1000',
};

async function service(extra: Record<string, string> = {}) {
  const s = await startTestService({ ...env, PAYMENT_URL: payments.url, ...extra }, { db });
  services.push(s);
  return s;
}

const chargeOf = (orderId: string) => payments.ledger.dump().charges.find((c) => c.idempotencyKey === chargeKey(orderId));
const refundsOf = (chargeId: string) => payments.ledger.dump().refunds.filter((r) => r.chargeId === chargeId);

/** Waits for the late charge, then for its refund; returns how long the refund took after the charge landed. */
async function refundedAfterCharge(t: TestService, orderId: string) {
  const charge = await waitFor(() => chargeOf(orderId), 5_000, 'the late charge');
  expect(charge.status).toBe('succeeded');
  const landed = performance.now();
  await waitFor(() => refundsOf(charge.id).length === 1, REFUND_DEADLINE_MS, 'its refund');
  const took = performance.now() - landed;
  // The refund is recorded on the order right after the provider booked it.
  const order = await waitFor(async () => {
    const body = (await t.api.get(`/api/v1/orders/${orderId}`, 'client')).body;
    return body.payment?.status === 'refunded' ? body : undefined;
  }, 2_000, 'the refund on the order');
  expect(order.payment).toMatchObject({ status: 'refunded', reference: charge.id });
  // Only once, however many looks come after. Once no payment call is out any more (a late answer
  // asks for a look of its own) and the looks under way are done, one more is asked for: it finds
  // the refund already made.
  await waitFor(() => services.every((s) => s.service.orders.worker.size === 0), 5_000, 'no payment call still out');
  const looks = async () => (await db.sql<{ n: number; due: boolean }[]>`SELECT reconcile_attempts AS n, reconcile_at IS NOT NULL AS due FROM orders WHERE id = ${orderId}`)[0]!;
  const done = await waitFor(async () => {
    const now = await looks();
    return now.due ? undefined : now;
  }, 5_000, 'the looks under way to finish');
  await t.service.orders.reconciler.now(orderId);
  await waitFor(async () => {
    const now = await looks();
    return now.n > done.n && !now.due;
  }, 5_000, 'one more look at the order');
  expect(refundsOf(charge.id)).toHaveLength(1);
  return took;
}

describe('a charge that lands after the order moved on is refunded', () => {
  test('cancelled while the charge was in flight', async () => {
    const t = await service();
    const product = await createProduct(t.api, { initialStock: 5 });
    payments.behaviour.failNext('charge-late');
    const placed = await placeOrder(t.api, [{ productId: product.id, quantity: 2 }]);
    expect(placed.body.status).toBe('reserved');
    const cancelled = await t.api.post(`/api/v1/orders/${placed.body.id}/cancel`, undefined, 'client');
    expect(cancelled.body.status).toBe('cancelled');
    expect((await t.api.get(`/api/v1/products/${product.id}/inventory`)).body).toMatchObject({ onHand: 5, reserved: 0 });
    expect(await refundedAfterCharge(t, placed.body.id)).toBeLessThan(REFUND_DEADLINE_MS);
    await expectStockConsistent(db.sql);
  }, 20_000);

  test('taken over by another process, which then failed it', async () => {
    // The first process holds the order with a short lease; its payment call is out when the lease runs out.
    const first = await service({ LEASE_MS: '300' });
    const second = await service();
    const product = await createProduct(first.api, { initialStock: 5 });
    payments.behaviour.failNext('charge-late'); // the first process's call: booked late, never answered
    payments.behaviour.failNext('refuse'); // the second process's call: refused, so it fails the order
    const placed = await placeOrder(first.api, [{ productId: product.id, quantity: 1 }]);
    await waitFor(async () => (await db.sql`SELECT lease_until < now() AS expired FROM orders WHERE id = ${placed.body.id}`)[0]!.expired, 2_000, 'the first lease to run out');
    expect(await second.service.orders.worker.sweep(undefined, 'abandoned')).toBeGreaterThanOrEqual(1);
    const failed = await orderReaches(second.api, placed.body.id, ['failed']);
    expect(failed.lastError).toContain('refused');
    // The first process's call then times out (outcome unknown) on an order that moved on.
    expect(await refundedAfterCharge(second, placed.body.id)).toBeLessThan(REFUND_DEADLINE_MS);
    await expectStockConsistent(db.sql);
  }, 20_000);

  test('failed when its last attempt had an unknown outcome', async () => {
    const t = await service({ PAYMENT_MAX_ATTEMPTS: '1' });
    const product = await createProduct(t.api, { initialStock: 5 });
    payments.behaviour.failNext('charge-late');
    const placed = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
    const failed = await orderReaches(t.api, placed.body.id, ['failed']);
    expect(failed.lastError).toContain('gave up after 1 attempts');
    expect(await refundedAfterCharge(t, placed.body.id)).toBeLessThan(REFUND_DEADLINE_MS);
    await expectStockConsistent(db.sql);
  }, 20_000);
});

describe('reconcile horizon', () => {
  test('a provider that cannot be asked until the horizon: the order is flagged for a person, not dropped', async () => {
    const t = await service({ RECONCILE_HORIZON_MS: '1500' });
    const product = await createProduct(t.api, { initialStock: 5 });
    payments.behaviour.failNext('hang');
    const placed = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
    await t.api.post(`/api/v1/orders/${placed.body.id}/cancel`, undefined, 'client');
    await payments.server.stop(true); // the provider is gone: every look fails
    try {
      const flagged = await waitFor(
        async () => (await db.sql`SELECT attention, reconcile_at FROM orders WHERE id = ${placed.body.id}`)[0]?.attention,
        10_000,
        'the order flagged',
      );
      expect(flagged).toContain('payment provider could not settle it');
      const logs = (await t.api.get(`/api/v1/orders/${placed.body.id}/logs`, 'client')).body.items;
      expect(logs.at(-1).message).toStartWith('needs a person:');
      const metrics = (await t.api.get('/metrics')).body as string;
      expect(metrics).toMatch(/payment_reconciliations_total\{result="attention"\} [1-9]/);
    } finally {
      payments = createPaymentServer({ port: 0, settings: { failureRate: 0, timeoutRate: 0, latencyMs: { min: 0, max: 0 } } });
    }
  }, 15_000);
});
