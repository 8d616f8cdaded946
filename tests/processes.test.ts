import { afterAll, describe, expect, test } from 'bun:test';
import { createPaymentServer, type PaymentServer } from '../src/modules/payments/server.ts';
import type { SimulatorSettings } from '../src/modules/payments/simulator.ts';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { fastRecoveryEnv, freePort, spawnService, type ServiceProcess } from './support/process.ts';
import { Api, tokens } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * Real service processes (`bun src/main.ts`) on one database, talking to the payment simulator
 * over HTTP: two of them side by side, and one killed with SIGKILL at random moments under load.
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

function baseEnv(db: TestDatabase, payments: PaymentServer, nodeId: string): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    PAYMENT_URL: payments.url,
    NODE_ID: nodeId,
    ADMIN_TOKEN: tokens.admin,
    CLIENT_TOKEN: tokens.client,
    DATA_DIR: `.test-data/${nodeId}`,
    DB_POOL_MAX: '8',
    PAYMENT_TIMEOUT_MS: '250',
    ...fastRecoveryEnv,
    RECONCILE_CRON: '* * * * * *',
  };
}

async function setUp(paymentSettings: SimulatorSettings) {
  const db = await freshDatabase();
  const payments = createPaymentServer({ port: 0, settings: paymentSettings });
  cleanups.push(() => db.drop(), () => payments.stop());
  return { db, payments };
}

function track(service: ServiceProcess) {
  cleanups.push(async () => {
    service.proc.kill('SIGKILL');
    await service.proc.exited;
  });
  return service;
}

async function settled(db: TestDatabase, ids: string[], timeoutMs: number) {
  return waitFor(
    async () => {
      const rows = await db.sql`SELECT status, count(*)::int AS n FROM orders WHERE id = ANY(${ids}::uuid[]) GROUP BY status`;
      const counts = Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
      return (counts.pending ?? 0) + (counts.reserved ?? 0) === 0 ? counts : null;
    },
    timeoutMs,
    'every accepted order to be final',
  );
}

describe('several processes on one database', () => {
  test(
    'two service processes take 500 orders for 100 in stock: exactly 100 processed, 400 failed, one charge each',
    async () => {
      const { db, payments } = await setUp({ failureRate: 0, timeoutRate: 0, latencyMs: { min: 0, max: 5 } });
      const [a, b] = await Promise.all([
        spawnService(baseEnv(db, payments, 'proc-a')).then(track),
        spawnService(baseEnv(db, payments, 'proc-b')).then(track),
      ]);
      const apiA = Api.forUrl(a.base);
      const apiB = Api.forUrl(b.base);
      const product = (await apiA.post('/api/v1/products', { sku: 'TWO-PROC', name: 'Contended', price: '2.00', initialStock: 100 })).body;
      const replies = await Promise.all(
        Array.from({ length: 500 }, (_, i) => (i % 2 ? apiA : apiB).post('/api/v1/orders', { customerId: `c${i}`, items: [{ productId: product.id, quantity: 1 }] }, 'client')),
      );
      expect(replies.filter((r) => r.status === 202)).toHaveLength(500);
      const ids = replies.map((r) => r.body.id as string);
      expect(await settled(db, ids, 60_000)).toEqual({ processed: 100, failed: 400 });
      const charges = payments.ledger.dump().charges;
      expect(charges).toHaveLength(100);
      expect(new Set(charges.map((c) => c.orderId)).size).toBe(100);
      const [level] = await db.sql`SELECT on_hand, reserved FROM inventory_levels WHERE product_id = ${product.id}`;
      expect(level).toEqual({ on_hand: 0, reserved: 0 });
      await expectStockConsistent(db.sql);
    },
    90_000,
  );

  test(
    'kill -9 at random moments under load: every accepted order ends, none is charged twice, stock is conserved',
    async () => {
      const { db, payments } = await setUp({ failureRate: 0.1, timeoutRate: 0.03, latencyMs: { min: 0, max: 30 } });
      const env = baseEnv(db, payments, 'crash-node');
      const port = await freePort();
      let service = track(await spawnService(env, { port }));
      const api = Api.forUrl(`http://127.0.0.1:${port}`);
      const products: { id: string }[] = [];
      for (let i = 0; i < 3; i++) products.push((await api.post('/api/v1/products', { sku: `CRASH-${i}`, name: `Crash ${i}`, price: '4.00', initialStock: 150 })).body);

      const accepted = new Set<string>();
      let running = true;
      let attempts = 0;
      const client = async (n: number) => {
        let i = 0;
        while (running) {
          i++;
          const items =
            i % 5 === 0
              ? [{ productId: products[0]!.id, quantity: 1 }, { productId: products[1 + (i % 2)]!.id, quantity: 2 }]
              : [{ productId: products[(n + i) % 3]!.id, quantity: 1 + (i % 3) }];
          try {
            attempts++;
            const reply = await api.post('/api/v1/orders', { customerId: `crash-${n}`, items }, 'client');
            if (reply.status === 202) accepted.add(reply.body.id);
          } catch {
            await Bun.sleep(20); // the scenario: the service is down, and a real client retries a little later
          }
        }
      };
      const clients = Array.from({ length: 6 }, (_, n) => client(n));
      for (let round = 0; round < 4; round++) {
        const before = accepted.size;
        await waitFor(() => accepted.size >= before + 5, 10_000, `orders accepted by incarnation ${round + 1}`);
        await Bun.sleep(Math.random() * 700); // the scenario: a kill at a random moment of the load, not synchronisation
        service.proc.kill('SIGKILL');
        await service.proc.exited;
        service = track(await spawnService(env, { port }));
      }
      const beforeLast = accepted.size;
      await waitFor(() => accepted.size >= beforeLast + 20, 10_000, 'orders accepted by the last incarnation');
      running = false;
      await Promise.all(clients);
      expect(accepted.size).toBeGreaterThan(50);

      const ids = [...accepted];
      const [stored] = await db.sql`SELECT count(*)::int AS n FROM orders WHERE id = ANY(${ids}::uuid[])`;
      expect(stored!.n).toBe(ids.length); // none missing
      await settled(db, ids, 60_000);
      // Every order (answered or not) ends; then the books must balance.
      await waitFor(async () => (await db.sql`SELECT count(*)::int AS n FROM orders WHERE status IN ('pending', 'reserved')`)[0]!.n === 0, 60_000, 'all orders final');
      await expectStockConsistent(db.sql);

      const orders = await db.sql`SELECT id, status FROM orders`;
      const status = new Map(orders.map((o) => [o.id as string, o.status as string]));
      const { charges } = payments.ledger.dump();
      const byOrder = new Map<string, number>();
      for (const charge of charges) byOrder.set(charge.orderId, (byOrder.get(charge.orderId) ?? 0) + 1);
      expect([...byOrder.values()].every((n) => n === 1)).toBe(true); // never charged twice
      for (const [id, s] of status) {
        const charge = charges.find((c) => c.orderId === id && c.status === 'succeeded');
        if (s === 'processed') expect(charge).toBeDefined();
      }
      // A charge on an order that did not go through is refunded (by the reconciler).
      const owed = charges.filter((c) => c.status === 'succeeded' && status.get(c.orderId) !== 'processed');
      await waitFor(
        () => owed.every((c) => payments.ledger.dump().refunds.some((r) => r.chargeId === c.id)) || null,
        20_000,
        'refunds of charges on orders that did not go through',
      );
      const counts = Object.fromEntries([...new Set(status.values())].map((s) => [s, [...status.values()].filter((v) => v === s).length]));
      console.log(`crash test: ${attempts} requests, ${accepted.size} accepted, ${JSON.stringify(counts)}, ${charges.length} charges, ${owed.length} refunded`);
    },
    120_000,
  );
});
