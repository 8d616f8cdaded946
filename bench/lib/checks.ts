import type { Executor } from '../../src/db/client.ts';
import { stockViolations } from '../../tests/support/violations.ts';

export type Check = { ok: boolean; detail: string };

/** The invariants of tests/support/invariants.ts (written set-wise: they run in seconds on a million orders). */
export async function ledgerCheck(sql: Executor): Promise<Check> {
  const v = await stockViolations(sql);
  const counts = {
    'levels out of range': v.outOfRange.length,
    'ledger ≠ on hand': v.ledger.length,
    'reserved ≠ what orders and holds hold': v.held.length,
    'held ≠ what active holds hold': v.holds.length,
    'converted holds ≠ their orders': v.conversions.length,
    'awaiting shipment ≠ sold and not shipped': v.unshipped.length,
    'shipped ≠ allocated': v.shipments.length,
    'refunds beyond the charge or their returns': v.refunds.length,
    'incoming ≠ in transit': v.incoming.length,
    'transfers ≠ their movements': v.transfers.length,
    'sums ≠ their locations': v.sums.length,
    'lines sold wrongly': v.sales.length,
    'sales ≠ their lines': v.attribution.length,
  };
  const bad = Object.values(counts).reduce((a, b) => a + b, 0);
  return {
    ok: bad === 0,
    detail:
      bad === 0
        ? `${v.products} products, ${v.lines} order units: per location ledger = on hand, reserved = what orders and holds hold, held = what holds hold, sold = shipped + awaiting shipment, incoming = in transit; transfers = their movements; converted holds = their orders; sums = their locations; each sold unit in exactly one sale of its quantity; refunds within the charge`
        : Object.entries(counts)
            .filter(([, n]) => n > 0)
            .map(([what, n]) => `${what} ${n}`)
            .join(', '),
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
