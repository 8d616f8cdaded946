import { expect } from 'bun:test';
import type { Executor } from '../../src/db/client.ts';

/**
 * What must hold whatever happened: 0 <= reserved <= onHand (the database enforces it too), the
 * ledger sums to onHand, `reserved` is exactly what orders in `reserved` hold, `awaitingShipment`
 * exactly what processed (sold, unshipped) orders hold, every processed (or shipped) order has
 * exactly one sale per line, and nothing else sold.
 */
export async function expectStockConsistent(sql: Executor) {
  const levels = await sql`
    SELECT l.product_id, l.on_hand, l.reserved,
      (SELECT coalesce(sum(delta), 0)::int FROM stock_movements m WHERE m.product_id = l.product_id) AS ledger,
      (SELECT coalesce(sum(i.quantity), 0)::int FROM order_items i JOIN orders o ON o.id = i.order_id
        WHERE i.product_id = l.product_id AND o.status = 'reserved') AS held,
      l.awaiting_shipment,
      (SELECT coalesce(sum(i.quantity), 0)::int FROM order_items i JOIN orders o ON o.id = i.order_id
        WHERE i.product_id = l.product_id AND o.status = 'processed') AS unshipped
    FROM inventory_levels l`;
  for (const level of levels) {
    expect(level.reserved).toBeGreaterThanOrEqual(0);
    expect(level.reserved).toBeLessThanOrEqual(level.on_hand);
    expect({ product: level.product_id, ledger: level.ledger }).toEqual({ product: level.product_id, ledger: level.on_hand });
    expect({ product: level.product_id, held: level.held }).toEqual({ product: level.product_id, held: level.reserved });
    expect({ product: level.product_id, unshipped: level.unshipped }).toEqual({ product: level.product_id, unshipped: level.awaiting_shipment });
  }
  const [sales] = await sql`
    SELECT count(*)::int AS wrong FROM (
      SELECT i.order_id, i.product_id, o.status,
        (SELECT coalesce(sum(-m.delta), 0)::int FROM stock_movements m WHERE m.order_id = i.order_id AND m.product_id = i.product_id AND m.reason = 'sale') AS sold,
        (SELECT count(*)::int FROM stock_movements m WHERE m.order_id = i.order_id AND m.product_id = i.product_id AND m.reason = 'sale') AS sales,
        i.quantity
      FROM order_items i JOIN orders o ON o.id = i.order_id
    ) s
    WHERE (s.status IN ('processed', 'shipped') AND (s.sales <> 1 OR s.sold <> s.quantity))
       OR (s.status IN ('pending', 'reserved', 'failed') AND s.sales <> 0)`;
  expect(sales!.wrong).toBe(0);
}
