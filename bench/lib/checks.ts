import type { Executor } from '../../src/db/client.ts';

export type Check = { ok: boolean; detail: string };

/**
 * The invariants of tests/support/invariants.ts, written set-wise (hash joins instead of one
 * sub-query per row) so they finish in seconds on a million orders:
 * - levels: 0 <= reserved <= on_hand, the ledger sums to on_hand, reserved is what reserved orders hold;
 * - sales: each processed or shipped order line has exactly one sale of its quantity, and no
 *   pending, reserved or failed order has any.
 */
export async function ledgerCheck(sql: Executor): Promise<Check> {
  const [levels] = await sql<{ products: number; outOfRange: number; ledger: number; held: number }[]>`
    SELECT count(*)::int AS products,
      count(*) FILTER (WHERE l.reserved < 0 OR l.reserved > l.on_hand OR l.on_hand < 0)::int AS "outOfRange",
      count(*) FILTER (WHERE l.on_hand <> coalesce(m.total, 0))::int AS ledger,
      count(*) FILTER (WHERE l.reserved <> coalesce(h.held, 0))::int AS held
    FROM inventory_levels l
    LEFT JOIN (SELECT product_id, sum(delta) AS total FROM stock_movements GROUP BY product_id) m USING (product_id)
    LEFT JOIN (SELECT i.product_id, sum(i.quantity) AS held FROM order_items i JOIN orders o ON o.id = i.order_id
               WHERE o.status = 'reserved' GROUP BY i.product_id) h USING (product_id)`;
  const [sales] = await sql<{ lines: number; wrong: number }[]>`
    SELECT count(*)::int AS lines,
      count(*) FILTER (WHERE (o.status IN ('processed', 'shipped') AND (s.sales IS DISTINCT FROM 1 OR s.sold <> i.quantity))
                          OR (o.status IN ('pending', 'reserved', 'failed') AND s.sales IS NOT NULL))::int AS wrong
    FROM order_items i
    JOIN orders o ON o.id = i.order_id
    LEFT JOIN (SELECT order_id, product_id, count(*) AS sales, sum(-delta) AS sold FROM stock_movements
               WHERE reason = 'sale' GROUP BY order_id, product_id) s ON s.order_id = i.order_id AND s.product_id = i.product_id`;
  const bad = levels!.outOfRange + levels!.ledger + levels!.held + sales!.wrong;
  return {
    ok: bad === 0,
    detail:
      bad === 0
        ? `${levels!.products} products, ${sales!.lines} order lines: ledger = on hand, reserved = held, one sale per sold line`
        : `levels out of range ${levels!.outOfRange}, ledger ≠ on hand ${levels!.ledger}, reserved ≠ held ${levels!.held}, wrong sales ${sales!.wrong}`,
  };
}

export type StatusCounts = Record<'pending' | 'reserved' | 'processed' | 'shipped' | 'failed' | 'cancelled', number> & { total: number };

export async function statusCounts(sql: Executor, since?: string): Promise<StatusCounts> {
  const rows = await sql<{ status: keyof StatusCounts; n: number }[]>`
    SELECT status, count(*)::int AS n FROM orders ${since ? sql`WHERE created_at >= ${since}::timestamptz` : sql``} GROUP BY status`;
  const counts: StatusCounts = { pending: 0, reserved: 0, processed: 0, shipped: 0, failed: 0, cancelled: 0, total: 0 };
  for (const row of rows) {
    counts[row.status] = row.n;
    counts.total += row.n;
  }
  return counts;
}

/** Orders still being worked on (uses the partial index on due orders). */
export async function openOrders(sql: Executor): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orders WHERE status IN ('pending', 'reserved')`;
  return row!.n;
}

/** Every 2xx the load generator saw is a stored order; the only extra rows are answers cut off at the end. */
export function durableCheck(accepted: number, stored: number, connections: number): Check {
  const ok = stored >= accepted && stored - accepted <= connections;
  return { ok, detail: `${accepted} answered 202, ${stored} stored (at most ${connections} more may be stored: answers cut off when the load stopped)` };
}

/** Nothing was sold beyond the stock: the units sold never exceed what the product started with. */
export async function soldCheck(sql: Executor, productId: string, stock: number, exact: boolean): Promise<Check & { sold: number }> {
  const [row] = await sql<{ sold: number; onHand: number }[]>`
    SELECT coalesce((SELECT sum(-delta) FROM stock_movements WHERE product_id = ${productId} AND reason = 'sale'), 0)::int AS sold,
           (SELECT on_hand FROM inventory_levels WHERE product_id = ${productId}) AS "onHand"`;
  const { sold, onHand } = row!;
  const ok = exact ? sold === stock && onHand === 0 : sold <= stock && onHand === stock - sold;
  return { ok, sold, detail: `${sold} sold of ${stock} in stock, ${onHand} left on hand` };
}
