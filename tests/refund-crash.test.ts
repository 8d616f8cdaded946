import { afterAll, expect, test } from 'bun:test';
import { chargeKey, returnRefundKey } from '../src/modules/payments/gateway.ts';
import { createPaymentServer } from '../src/modules/payments/server.ts';
import { freshDatabase } from './support/cluster.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { spawnService, type ServiceProcess } from './support/process.ts';
import { Api, tokens } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * A service process killed with SIGKILL between a refund call and its record: the provider has
 * made the refund, the process never heard. The next process finds the return's refund pending,
 * asks again under the same key, gets the refund that was made, and records it once.
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

test('kill -9 between a refund call and its record: after a restart the refund is recorded once, never made twice', async () => {
  const db = await freshDatabase();
  const payments = createPaymentServer({ port: 0, settings: { failureRate: 0, timeoutRate: 0, latencyMs: { min: 0, max: 0 } } });
  cleanups.push(() => db.drop(), () => payments.stop());
  const env = {
    DATABASE_URL: db.url,
    PAYMENT_URL: payments.url,
    ADMIN_TOKEN: tokens.admin,
    CLIENT_TOKEN: tokens.client,
    DATA_DIR: '.test-data/refund-crash',
    NODE_ID: 'refund-crash',
    // The refund call is held open for 3 s: the process is killed inside that window, after the provider booked it.
    PAYMENT_TIMEOUT_MS: '3000',
    RECONCILE_CRON: '* * * * * *',
  };
  const start = async () => {
    const service = await spawnService(env);
    cleanups.push(async () => {
      service.proc.kill('SIGKILL');
      await service.proc.exited;
    });
    return service;
  };
  const first: ServiceProcess = await start();
  const api = Api.forUrl(first.base);
  const product = (await api.post('/api/v1/products', { sku: 'CRASH-RETURN', name: 'Returned', price: '12.50', initialStock: 4 })).body;
  const placed = (await api.post('/api/v1/orders', { customerId: 'crash', items: [{ productId: product.id, quantity: 4 }] }, 'client')).body;
  await waitFor(async () => (await api.get(`/api/v1/orders/${placed.id}`)).body.status === 'processed', 10_000, 'the order to be paid');
  expect((await api.post(`/api/v1/orders/${placed.id}/ship`)).body.status).toBe('shipped');

  // The provider books the refund 1.5 s after the call, and never answers it.
  payments.behaviour.failNext('refund-late');
  const answer = api.post(`/api/v1/orders/${placed.id}/returns`, { items: [{ productId: product.id, quantity: 2, disposition: 'restock' }] }).catch((error: unknown) => error);
  const charge = await waitFor(() => payments.ledger.dump().charges.find((c) => c.idempotencyKey === chargeKey(placed.id)), 5_000, 'the charge');
  const refund = await waitFor(() => payments.ledger.dump().refunds.find((r) => r.chargeId === charge.id), 5_000, 'the provider to book the refund');
  first.proc.kill('SIGKILL');
  await first.proc.exited;
  await answer;
  const [stored] = await db.sql`SELECT id, refund_status, refund_key FROM returns WHERE order_id = ${placed.id}`;
  expect(stored).toMatchObject({ refund_status: 'pending', refund_key: returnRefundKey(stored!.id) });

  const second = await start();
  const again = Api.forUrl(second.base);
  const settled = await waitFor(
    async () => {
      const order = (await again.get(`/api/v1/orders/${placed.id}`)).body;
      return order.returns[0]?.refund.status === 'succeeded' ? order : undefined;
    },
    20_000,
    'the restarted process to record the refund',
  );
  expect(settled.returns[0].refund).toEqual({ status: 'succeeded', amount: '25.00', reference: refund.id });
  expect(settled.refunded).toBe('25.00');
  expect(payments.ledger.dump().refunds.filter((r) => r.chargeId === charge.id)).toEqual([refund]);
  const logs = (await again.get(`/api/v1/orders/${placed.id}/logs`)).body.items.filter((l: { message: string }) => l.message.startsWith('refund '));
  expect(logs).toHaveLength(1);
  // The units came back with the return, before the crash, once.
  expect((await again.get(`/api/v1/products/${product.id}/inventory`)).body).toMatchObject({ onHand: 2, awaitingShipment: 0 });
  await expectStockConsistent(db.sql, payments.ledger.dump());
}, 60_000);
