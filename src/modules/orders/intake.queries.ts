import type { Executor } from '../../db/client.ts';

export type IntakeOrder = {
  id: string;
  customerId: string;
  idempotencyKey: string | null;
  requestHash: string | null;
  items: { productId: string; quantity: number }[];
};

/**
 * Stores a whole intake batch in one statement (so in one implicit transaction, one commit, one
 * round trip). It prices every line from the catalog as it stands (archived products have no
 * price), keeps the orders whose every line has one, takes their idempotency keys
 * (`ON CONFLICT DO NOTHING`), and stores the orders whose key was new or absent, with their
 * items, first log rows and one outbox event. Returns the ids stored, the prices it used (the
 * caller answers with them and tells which lines could not be ordered) and the statement's
 * timestamp (the orders' `createdAt`).
 */
export async function insertOrders(sql: Executor, orders: IntakeOrder[], lease: { owner: string; leaseMs: number }) {
  const items = orders.flatMap((o) => o.items.map((item, line) => ({ orderId: o.id, line, ...item })));
  const [row] = await sql<{ accepted: string[] | null; prices: Record<string, string> | null; at: string }[]>`
    WITH item AS (
      SELECT * FROM unnest(${items.map((i) => i.orderId)}::uuid[], ${items.map((i) => i.productId)}::uuid[],
                           ${items.map((i) => i.line)}::int[], ${items.map((i) => i.quantity)}::int[])
        AS x(order_id, product_id, line, quantity)
    ), price AS (
      SELECT id, price FROM products WHERE id IN (SELECT product_id FROM item) AND archived_at IS NULL
    ), orderable AS (
      SELECT r.*, (SELECT sum(p.price * i.quantity) FROM item i JOIN price p ON p.id = i.product_id WHERE i.order_id = r.id) AS total
      FROM unnest(${orders.map((o) => o.id)}::uuid[], ${orders.map((o) => o.customerId)}::text[],
                  ${orders.map((o) => o.idempotencyKey)}::text[], ${orders.map((o) => o.requestHash)}::text[])
        AS r(id, customer_id, idempotency_key, request_hash)
      WHERE NOT EXISTS (SELECT 1 FROM item i WHERE i.order_id = r.id AND i.product_id NOT IN (SELECT id FROM price))
    ), keys AS (
      INSERT INTO idempotency_keys (key, request_hash, order_id)
      SELECT idempotency_key, request_hash, id FROM orderable WHERE idempotency_key IS NOT NULL
      ON CONFLICT (key) DO NOTHING
      RETURNING order_id
    ), accepted AS (
      SELECT * FROM orderable WHERE idempotency_key IS NULL OR id IN (SELECT order_id FROM keys)
    ), o AS (
      INSERT INTO orders (id, customer_id, status, total, lease_owner, lease_until)
      SELECT id, customer_id, 'pending', total, ${lease.owner}::uuid, now() + ${lease.leaseMs} * interval '1 millisecond' FROM accepted
      RETURNING id
    ), i AS (
      INSERT INTO order_items (order_id, product_id, line, quantity, unit_price)
      SELECT i.order_id, i.product_id, i.line, i.quantity, p.price
      FROM item i JOIN price p ON p.id = i.product_id
      WHERE i.order_id IN (SELECT id FROM accepted)
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
    SELECT (SELECT array_agg(id) FROM o) AS accepted, (SELECT json_object_agg(id, price::text) FROM price) AS prices, now()::text AS at`;
  return { accepted: new Set(row!.accepted ?? []), prices: new Map(Object.entries(row!.prices ?? {})), at: row!.at };
}

export type StoredKey = { key: string; requestHash: string; orderId: string };

export function findKeys(sql: Executor, keys: string[]) {
  return sql<StoredKey[]>`
    SELECT key, request_hash AS "requestHash", order_id AS "orderId" FROM idempotency_keys WHERE key = ANY(${keys}::text[])`;
}
