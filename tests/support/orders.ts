import type { Executor } from '../../src/db/client.ts';

export type OrderFields = {
  status?: string;
  quantity?: number;
  leaseOwner?: string | null;
  leaseUntil?: Date | null;
  nextAttemptAt?: Date;
  updatedAt?: Date;
  customerId?: string;
};

/**
 * An order row as a worker would have left it, with nobody working on it: what a test puts in the
 * table to see what the sweeps, claims and steps make of it. Its stock is not held: a test that
 * stores a `reserved` order sets the level itself.
 */
export async function insertOrderRow(sql: Executor, productId: string, fields: OrderFields = {}): Promise<string> {
  const id = Bun.randomUUIDv7();
  const quantity = fields.quantity ?? 1;
  const items = JSON.stringify([{ productId, quantity, unitPrice: '1.00' }]);
  await sql`
    INSERT INTO orders (id, customer_id, status, items, total, lease_owner, lease_until, next_attempt_at, updated_at)
    VALUES (${id}, ${fields.customerId ?? 'fixture'}, ${fields.status ?? 'pending'}, ${items}::jsonb, ${quantity.toFixed(2)}::numeric,
            ${fields.leaseOwner ?? null}, ${fields.leaseUntil?.toISOString() ?? null},
            ${(fields.nextAttemptAt ?? new Date()).toISOString()}, ${(fields.updatedAt ?? new Date()).toISOString()})`;
  await sql`UPDATE inventory_levels SET orders_placed = orders_placed + 1 WHERE product_id = ${productId}`;
  return id;
}
