import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { SimulatedGateway } from '../src/modules/payments/simulator.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { createProduct, placeOrder, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

let t: TestService;
beforeAll(async () => {
  t = await startTestService({ ORDER_MAX_ATTEMPTS: '3', RETRY_BASE_MS: '20', RETRY_MAX_MS: '100' });
});
afterAll(() => t.close());

async function statusCounts(ids: string[]) {
  const rows = await t.db.sql`SELECT status, count(*)::int AS n FROM orders WHERE id = ANY(${ids}::uuid[]) GROUP BY status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
}

async function allFinal(ids: string[]) {
  return waitFor(
    async () => {
      const counts = await statusCounts(ids);
      return (counts.pending ?? 0) + (counts.reserved ?? 0) === 0 ? counts : null;
    },
    30_000,
    'every order to be final',
  );
}

describe('many clients, one product', () => {
  test(
    '500 concurrent single-item orders for 100 in stock: exactly 100 processed, 400 failed after their retries',
    async () => {
      const product = await createProduct(t.api, { initialStock: 100, price: '3.00' });
      const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: `c${i}` })));
      expect(replies.every((r) => r.status === 202)).toBe(true);
      const ids = replies.map((r) => r.body.id as string);

      const counts = await allFinal(ids);
      expect(counts).toEqual({ processed: 100, failed: 400 });
      const level = (await t.api.get(`/api/v1/products/${product.id}/inventory`)).body;
      expect(level).toMatchObject({ onHand: 0, reserved: 0, available: 0 });

      const failed = await t.db.sql`SELECT attempts, last_error FROM orders WHERE id = ANY(${ids}::uuid[]) AND status = 'failed'`;
      expect(failed.every((f) => f.attempts === 3 && String(f.last_error).includes('insufficient stock'))).toBe(true);
      const charges = (t.service.gateway as SimulatedGateway).ledger.dump().charges.filter((c) => ids.includes(c.orderId));
      expect(charges).toHaveLength(100);
      expect(new Set(charges.map((c) => c.orderId)).size).toBe(100);
      await expectStockConsistent(t.db.sql);
    },
    60_000,
  );
});

describe('multi-item orders on overlapping products', () => {
  test(
    'all or nothing, no deadlock, nothing left held',
    async () => {
      const products = await Promise.all(Array.from({ length: 5 }, () => createProduct(t.api, { initialStock: 40, price: '1.00' })));
      let seed = 42;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const orders = Array.from({ length: 150 }, () => {
        const chosen = products.filter(() => random() < 0.5);
        const lines = (chosen.length > 0 ? chosen : [products[Math.floor(random() * 5)]!]).map((p) => ({ productId: p.id, quantity: 1 + Math.floor(random() * 3) }));
        return lines.sort(() => random() - 0.5); // lines in any order: locks are still taken in key order
      });
      const replies = await Promise.all(orders.map((items, i) => placeOrder(t.api, items, { customerId: `m${i}` })));
      expect(replies.every((r) => r.status === 202)).toBe(true);
      const ids = replies.map((r) => r.body.id as string);
      const counts = await allFinal(ids);
      expect((counts.processed ?? 0) + (counts.failed ?? 0)).toBe(150);
      expect(counts.processed).toBeGreaterThan(0);
      expect(counts.failed).toBeGreaterThan(0); // demand (~ 150 × 2.5 × 2 per product) exceeds 40 each

      // All or nothing: a failed order sold nothing, a processed one sold every line in full.
      await expectStockConsistent(t.db.sql);
      for (const product of products) {
        const [row] = await t.db.sql`
          SELECT l.on_hand, l.reserved,
            (SELECT coalesce(sum((i->>'quantity')::int), 0)::int FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.items) i
             WHERE (i->>'productId')::uuid = l.product_id AND o.status = 'processed') AS sold
          FROM inventory_levels l WHERE l.product_id = ${product.id}`;
        expect(row!.reserved).toBe(0);
        expect(row!.on_hand).toBe(40 - row!.sold);
        expect(row!.on_hand).toBeGreaterThanOrEqual(0);
      }
    },
    60_000,
  );
});
