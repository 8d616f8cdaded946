import type { Executor } from '../../db/client.ts';

export type PricedProduct = { id: string; price: string };

/** Current price of every product in the batch that can be ordered (not archived). */
export function orderableProducts(sql: Executor, productIds: string[]) {
  return sql<PricedProduct[]>`
    SELECT id, price::text AS price FROM products WHERE id = ANY(${productIds}::uuid[]) AND archived_at IS NULL`;
}

export type NewOrder = {
  id: string;
  customerId: string;
  total: string;
  idempotencyKey: string | null;
  requestHash: string | null;
  items: { productId: string; quantity: number; unitPrice: string }[];
};

/**
 * Stores a whole intake batch in one statement (so in one implicit transaction, one commit): the
 * idempotency keys first (`ON CONFLICT DO NOTHING`), then only the orders whose key was new or
 * absent, with their items, first log rows and one outbox event. Returns the ids stored and the
 * statement's timestamp (the orders' `createdAt`).
 */
export async function insertOrders(sql: Executor, orders: NewOrder[], lease: { owner: string; leaseMs: number }) {
  const keyed = orders.filter((o) => o.idempotencyKey !== null);
  const items = orders.flatMap((o) => o.items.map((item, line) => ({ orderId: o.id, line, ...item })));
  const [row] = await sql<{ accepted: string[] | null; at: string }[]>`
    WITH keys AS (
      INSERT INTO idempotency_keys (key, request_hash, order_id)
      SELECT * FROM unnest(${keyed.map((o) => o.idempotencyKey)}::text[], ${keyed.map((o) => o.requestHash)}::text[], ${keyed.map((o) => o.id)}::uuid[])
      ON CONFLICT (key) DO NOTHING
      RETURNING order_id
    ), accepted AS (
      SELECT * FROM unnest(${orders.map((o) => o.id)}::uuid[], ${orders.map((o) => o.customerId)}::text[],
                           ${orders.map((o) => o.total)}::text[]::numeric[], ${orders.map((o) => o.idempotencyKey)}::text[])
        AS a(id, customer_id, total, idempotency_key)
      WHERE a.idempotency_key IS NULL OR a.id IN (SELECT order_id FROM keys)
    ), o AS (
      INSERT INTO orders (id, customer_id, status, total, lease_owner, lease_until)
      SELECT id, customer_id, 'pending', total, ${lease.owner}::uuid, now() + ${lease.leaseMs} * interval '1 millisecond' FROM accepted
      RETURNING id
    ), i AS (
      INSERT INTO order_items (order_id, product_id, line, quantity, unit_price)
      SELECT * FROM unnest(${items.map((i) => i.orderId)}::uuid[], ${items.map((i) => i.productId)}::uuid[], ${items.map((i) => i.line)}::int[],
                           ${items.map((i) => i.quantity)}::int[], ${items.map((i) => i.unitPrice)}::text[]::numeric[])
        AS x(order_id, product_id, line, quantity, unit_price)
      WHERE x.order_id IN (SELECT id FROM accepted)
      RETURNING 1
    ), l AS (
      INSERT INTO order_logs (order_id, status, message) SELECT id, 'pending', 'order accepted' FROM accepted
      RETURNING 1
    ), e AS (
      INSERT INTO events (changes)
      SELECT jsonb_agg(jsonb_build_object('type', 'order.status', 'orderId', id, 'status', 'pending', 'previous', null, 'attempts', 0))
      FROM accepted HAVING count(*) > 0
      RETURNING 1
    )
    SELECT (SELECT array_agg(id) FROM o) AS accepted, now()::text AS at`;
  return { accepted: new Set(row!.accepted ?? []), at: row!.at };
}

export type StoredKey = { key: string; requestHash: string; orderId: string };

export function findKeys(sql: Executor, keys: string[]) {
  return sql<StoredKey[]>`
    SELECT key, request_hash AS "requestHash", order_id AS "orderId" FROM idempotency_keys WHERE key = ANY(${keys}::text[])`;
}
