import type { Executor } from '../../src/db/client.ts';

export type Violations = {
  products: number;
  lines: number;
  /** Levels outside 0 <= reserved <= on_hand. */
  outOfRange: string[];
  /** Products whose ledger does not sum to on_hand. */
  ledger: string[];
  /** Products whose `reserved` is not what reserved orders hold. */
  held: string[];
  /** Products whose `awaiting_shipment` is not what processed (sold, unshipped) orders hold. */
  unshipped: string[];
  /** Order lines sold a wrong number of times for their status (processed or shipped: once; pending, reserved, failed: never). */
  sales: string[];
  /** Sale movements whose quantity is not the sum of the lines of the orders they name. */
  attribution: string[];
};

/**
 * What must hold whatever happened, written set-wise (hash joins, not a sub-query per row) so it
 * runs in seconds on a million orders; the bench checks the same:
 * - every level: 0 <= reserved <= on_hand (the database enforces it too), the ledger sums to
 *   on_hand, `reserved` is exactly what orders in `reserved` hold, `awaiting_shipment` exactly
 *   what processed orders hold;
 * - every line of a processed or shipped order is named by exactly one sale movement, no line of
 *   a pending, reserved or failed order by any, and every sale movement's quantity is the sum of
 *   the lines it names (a batch's sales are one movement naming all its orders).
 */
export async function stockViolations(sql: Executor): Promise<Violations> {
  const [levels, [lines], attribution] = await Promise.all([
    sql<{ productId: string; outOfRange: boolean; ledger: boolean; held: boolean; unshipped: boolean }[]>`
      WITH line AS (
        SELECT o.status, (i->>'productId')::uuid AS product_id, (i->>'quantity')::int AS quantity
        FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.items) i WHERE o.status IN ('reserved', 'processed'))
      SELECT l.product_id AS "productId",
        (l.reserved < 0 OR l.reserved > l.on_hand OR l.on_hand < 0) AS "outOfRange",
        l.on_hand <> coalesce(m.total, 0) AS ledger,
        l.reserved <> coalesce(h.held, 0) AS held,
        l.awaiting_shipment <> coalesce(h.unshipped, 0) AS unshipped
      FROM inventory_levels l
      LEFT JOIN (SELECT product_id, sum(delta) AS total FROM stock_movements GROUP BY product_id) m USING (product_id)
      LEFT JOIN (SELECT product_id, sum(quantity) FILTER (WHERE status = 'reserved') AS held, sum(quantity) FILTER (WHERE status = 'processed') AS unshipped
                 FROM line GROUP BY product_id) h USING (product_id)`,
    sql<{ lines: number; wrong: string[] | null }[]>`
      WITH line AS (
        SELECT o.id AS order_id, o.status, (i->>'productId')::uuid AS product_id
        FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.items) i),
      sold AS (
        SELECT m.product_id, x.order_id, count(*) AS sales
        FROM stock_movements m CROSS JOIN LATERAL unnest(m.order_ids) AS x(order_id)
        WHERE m.reason = 'sale' GROUP BY m.product_id, x.order_id)
      SELECT count(*)::int AS lines,
        (array_agg(line.order_id::text || ' ' || line.status || ' sold ' || coalesce(sold.sales, 0)) FILTER (
          WHERE (line.status IN ('processed', 'shipped') AND coalesce(sold.sales, 0) <> 1)
             OR (line.status IN ('pending', 'reserved', 'failed') AND sold.sales IS NOT NULL)
             OR coalesce(sold.sales, 0) > 1))[1:20] AS wrong
      FROM line LEFT JOIN sold USING (order_id, product_id)`,
    sql<{ movement: string }[]>`
      WITH line AS (
        SELECT o.id AS order_id, (i->>'productId')::uuid AS product_id, (i->>'quantity')::int AS quantity
        FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.items) i)
      SELECT m.id::text AS movement
      FROM stock_movements m CROSS JOIN LATERAL unnest(m.order_ids) AS x(order_id)
      LEFT JOIN line ON line.order_id = x.order_id AND line.product_id = m.product_id
      WHERE m.reason = 'sale'
      GROUP BY m.id, m.delta
      HAVING -m.delta IS DISTINCT FROM sum(line.quantity) OR count(line.order_id) <> count(*)
      LIMIT 20`,
  ]);
  const pick = (key: 'outOfRange' | 'ledger' | 'held' | 'unshipped') => levels.filter((l) => l[key]).map((l) => l.productId);
  return {
    products: levels.length,
    lines: lines!.lines,
    outOfRange: pick('outOfRange'),
    ledger: pick('ledger'),
    held: pick('held'),
    unshipped: pick('unshipped'),
    sales: lines!.wrong ?? [],
    attribution: attribution.map((a) => a.movement),
  };
}
