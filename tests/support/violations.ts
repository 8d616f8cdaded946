import type { Executor } from '../../src/db/client.ts';
import { DEFAULT_LOCATION_ID } from '../../src/db/schema/locations.ts';

export type Violations = {
  products: number;
  lines: number;
  /** Levels outside 0 <= reserved <= on_hand (a product's sums or one location's). */
  outOfRange: string[];
  /** Products (or product@location) whose ledger does not sum to on_hand. */
  ledger: string[];
  /** product@location whose `reserved` is not what reserved orders and active holds hold there. */
  held: string[];
  /** product@location whose `held` is not what active holds hold there. */
  holds: string[];
  /** Converted holds whose order does not exist or was not given exactly the hold's units where they were held. */
  conversions: string[];
  /** product@location whose `awaiting_shipment` is not what processed orders sold there and have not shipped (sold = shipped + awaiting shipment). */
  unshipped: string[];
  /** product@location whose `incoming` is not what transfers in transit still bring there. */
  incoming: string[];
  /** Transfers whose movements are not what they moved: out of the source, in at the destination, back at a cancel. */
  transfers: string[];
  /** order product@location whose fulfilments ship more than was allocated there, or a shipped order whose fulfilments ship less. */
  shipments: string[];
  /** Orders that refunded more than was charged, or other than their returns' succeeded refunds (and, given the provider's books, than it refunded). */
  refunds: string[];
  /** Products whose sums are not the sums of their locations. */
  sums: string[];
  /** Order lines sold a wrong number of times for their status (processed or shipped: once; pending, reserved, failed: never). */
  sales: string[];
  /** Sale movements whose quantity is not the sum of the lines of the orders they name. */
  attribution: string[];
};

/** The payment provider's books, when a test has them: every charge and refund it made. */
export type ProviderBooks = { charges: { id: string; amount: string }[]; refunds: { chargeId: string; amount: string }[] };

/**
 * What must hold whatever happened, written set-wise (hash joins, not a sub-query per row) so it
 * runs in seconds on a million orders; the bench checks the same:
 * - every level, per location and summed: 0 <= reserved <= on_hand (the database enforces it too);
 * - per location, the ledger (returns included) sums to on_hand, `reserved` is exactly what
 *   orders in `reserved` and active holds hold there, `held` exactly what active holds hold there,
 *   `awaiting_shipment` exactly what processed orders sold there and have not shipped in
 *   fulfilments (an order's allocations; none recorded: all at the default location), and
 *   `incoming` exactly what transfers in transit still bring there; a product's row is the sum of
 *   its locations;
 * - a converted hold's order exists and was born with exactly the hold's units where they were;
 * - every transfer's movements are what it moved, per product: its quantity out of the source
 *   (`transfer-out`), what was received in at the destination (`transfer-in`), and, once
 *   cancelled, what was still on its way back at the source (`transfer-cancel`); nothing else;
 * - no fulfilment ships more of a product from a location than the order was allocated there, and
 *   a shipped order's fulfilments (when it has any: orders shipped before them have none) ship all;
 * - an order's `refunded` is at most its total, equal to its returns' succeeded refunds (a
 *   cancelled or failed order has none: its refund is what was left of the charge), and the
 *   returns' refunds asked for never add up past the total; with the provider's books, no charge
 *   refunded past its amount, and no order recording more than the provider refunded on its charge;
 * - every line of a processed or shipped order is named by exactly one sale movement, no line of
 *   a pending, reserved or failed order by any, and every sale movement's quantity is the sum of
 *   the lines it names (a batch's sales are one movement per location naming all its orders).
 */
export async function stockViolations(sql: Executor, provider?: ProviderBooks): Promise<Violations> {
  const [levels, places, [lines], attribution, transfers, conversions, shipments, refunds] = await Promise.all([
    sql<{ productId: string; outOfRange: boolean; ledger: boolean; sums: boolean }[]>`
      SELECT l.product_id AS "productId",
        (l.reserved < 0 OR l.reserved > l.on_hand OR l.on_hand < 0 OR l.held < 0 OR l.held > l.reserved OR l.incoming < 0) AS "outOfRange",
        l.on_hand <> coalesce(m.total, 0) AS ledger,
        (l.on_hand, l.reserved, l.held, l.incoming, l.awaiting_shipment) IS DISTINCT FROM (s.on_hand, s.reserved, s.held, s.incoming, s.awaiting) AS sums
      FROM inventory_levels l
      LEFT JOIN (SELECT product_id, sum(delta) AS total FROM stock_movements GROUP BY product_id) m USING (product_id)
      LEFT JOIN (SELECT product_id, sum(on_hand)::int AS on_hand, sum(reserved)::int AS reserved, sum(held)::int AS held,
                        sum(incoming)::int AS incoming, sum(awaiting_shipment)::int AS awaiting
                 FROM location_levels GROUP BY product_id) s USING (product_id)`,
    sql<{ place: string; outOfRange: boolean; ledger: boolean; held: boolean; holds: boolean; unshipped: boolean; incoming: boolean }[]>`
      WITH ${transferItems(sql)}, unit AS (
        SELECT o.status, (a->>'productId')::uuid AS product_id, (a->>'locationId')::uuid AS location_id, (a->>'quantity')::int AS quantity
        FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.allocations) a
        WHERE o.status IN ('reserved', 'processed') AND o.allocations IS NOT NULL
        UNION ALL
        SELECT o.status, (i->>'productId')::uuid, ${DEFAULT_LOCATION_ID}::uuid, (i->>'quantity')::int
        FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.items) i
        WHERE o.status IN ('reserved', 'processed') AND o.allocations IS NULL
        UNION ALL
        SELECT 'held', (i->>'productId')::uuid, (a->>'locationId')::uuid, (a->>'quantity')::int
        FROM holds h CROSS JOIN LATERAL jsonb_array_elements(h.items) i CROSS JOIN LATERAL jsonb_array_elements(i->'allocations') a
        WHERE h.status = 'active'
        UNION ALL
        -- What left in fulfilments no longer awaits shipment.
        SELECT o.status, (i->>'productId')::uuid, f.location_id, -(i->>'quantity')::int
        FROM fulfilments f JOIN orders o ON o.id = f.order_id CROSS JOIN LATERAL jsonb_array_elements(f.items) i
        WHERE o.status = 'processed')
      SELECT l.product_id || '@' || l.location_id AS place,
        (l.reserved < 0 OR l.reserved > l.on_hand OR l.on_hand < 0 OR l.held < 0 OR l.held > l.reserved OR l.incoming < 0) AS "outOfRange",
        l.on_hand <> coalesce(m.total, 0) AS ledger,
        l.reserved <> coalesce(h.reserved, 0) AS held,
        l.held <> coalesce(h.kept, 0) AS holds,
        l.awaiting_shipment <> coalesce(h.unshipped, 0) AS unshipped,
        l.incoming <> coalesce(tr.incoming, 0) AS incoming
      FROM location_levels l
      LEFT JOIN (SELECT product_id, location_id, sum(delta) AS total FROM stock_movements GROUP BY product_id, location_id) m USING (product_id, location_id)
      LEFT JOIN (SELECT product_id, location_id, sum(quantity) FILTER (WHERE status IN ('reserved', 'held')) AS reserved,
                        sum(quantity) FILTER (WHERE status = 'held') AS kept, sum(quantity) FILTER (WHERE status = 'processed') AS unshipped
                 FROM unit GROUP BY product_id, location_id) h USING (product_id, location_id)
      LEFT JOIN (SELECT product_id, to_location_id AS location_id, sum(quantity - received) AS incoming
                 FROM transfer_item WHERE status = 'in_transit' GROUP BY product_id, to_location_id) tr USING (product_id, location_id)`,
    sql<{ lines: number; wrong: string[] | null }[]>`
      WITH unit AS (
        SELECT o.id AS order_id, o.status, (a->>'productId')::uuid AS product_id, (a->>'locationId')::uuid AS location_id
        FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.allocations) a WHERE o.allocations IS NOT NULL
        UNION ALL
        SELECT o.id, o.status, (i->>'productId')::uuid, ${DEFAULT_LOCATION_ID}::uuid
        FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.items) i WHERE o.allocations IS NULL),
      sold AS (
        SELECT m.product_id, m.location_id, x.order_id, count(*) AS sales
        FROM stock_movements m CROSS JOIN LATERAL unnest(m.order_ids) AS x(order_id)
        WHERE m.reason = 'sale' GROUP BY m.product_id, m.location_id, x.order_id)
      SELECT count(*)::int AS lines,
        (array_agg(unit.order_id::text || ' ' || unit.status || ' sold ' || coalesce(sold.sales, 0)) FILTER (
          WHERE (unit.status IN ('processed', 'shipped') AND coalesce(sold.sales, 0) <> 1)
             OR (unit.status IN ('pending', 'reserved', 'failed') AND sold.sales IS NOT NULL)
             OR coalesce(sold.sales, 0) > 1))[1:20] AS wrong
      FROM unit LEFT JOIN sold USING (order_id, product_id, location_id)`,
    sql<{ movement: string }[]>`
      WITH unit AS (
        SELECT o.id AS order_id, (a->>'productId')::uuid AS product_id, (a->>'locationId')::uuid AS location_id, (a->>'quantity')::int AS quantity
        FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.allocations) a WHERE o.allocations IS NOT NULL
        UNION ALL
        SELECT o.id, (i->>'productId')::uuid, ${DEFAULT_LOCATION_ID}::uuid, (i->>'quantity')::int
        FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.items) i WHERE o.allocations IS NULL)
      SELECT m.id::text AS movement
      FROM stock_movements m CROSS JOIN LATERAL unnest(m.order_ids) AS x(order_id)
      LEFT JOIN unit ON unit.order_id = x.order_id AND unit.product_id = m.product_id AND unit.location_id = m.location_id
      WHERE m.reason = 'sale'
      GROUP BY m.id, m.delta
      HAVING -m.delta IS DISTINCT FROM sum(unit.quantity) OR count(unit.order_id) <> count(*)
      LIMIT 20`,
    sql<{ wrong: string }[]>`
      WITH ${transferItems(sql)}, expected AS (
        SELECT id, product_id, from_location_id AS location_id, 'transfer-out' AS reason, -quantity AS delta FROM transfer_item
        UNION ALL
        SELECT id, product_id, to_location_id, 'transfer-in', received FROM transfer_item
        UNION ALL
        SELECT id, product_id, from_location_id, 'transfer-cancel', CASE WHEN status = 'cancelled' THEN quantity - received ELSE 0 END FROM transfer_item),
      moved AS (
        SELECT transfer_id AS id, product_id, location_id, reason, sum(delta)::int AS delta
        FROM stock_movements WHERE transfer_id IS NOT NULL GROUP BY transfer_id, product_id, location_id, reason)
      SELECT coalesce(e.id, m.id)::text || ' ' || coalesce(e.reason, m.reason) || ' of ' || coalesce(e.product_id, m.product_id)::text
             || ': moved ' || coalesce(m.delta, 0) || ', expected ' || coalesce(e.delta, 0) AS wrong
      FROM expected e FULL JOIN moved m ON m.id = e.id AND m.product_id = e.product_id AND m.location_id = e.location_id AND m.reason = e.reason
      WHERE coalesce(e.delta, 0) <> coalesce(m.delta, 0)
      LIMIT 20`,
    sql<{ hold: string }[]>`
      WITH kept AS (
        SELECT h.id, h.order_id, (i->>'productId')::uuid AS product_id, (a->>'locationId')::uuid AS location_id, (a->>'quantity')::int AS quantity
        FROM holds h CROSS JOIN LATERAL jsonb_array_elements(h.items) i CROSS JOIN LATERAL jsonb_array_elements(i->'allocations') a
        WHERE h.status = 'converted')
      SELECT k.id::text AS hold FROM kept k LEFT JOIN orders o ON o.id = k.order_id
      GROUP BY k.id, o.id, o.allocations
      HAVING o.id IS NULL OR (SELECT jsonb_agg(x ORDER BY x) FROM jsonb_array_elements(o.allocations) x)
        IS DISTINCT FROM jsonb_agg(jsonb_build_object('productId', k.product_id, 'locationId', k.location_id, 'quantity', k.quantity) ORDER BY
                                    jsonb_build_object('productId', k.product_id, 'locationId', k.location_id, 'quantity', k.quantity))
      LIMIT 20`,
    shipmentViolations(sql),
    refundViolations(sql, provider),
  ]);
  const pick = <T extends Record<string, unknown>>(rows: readonly T[], key: keyof T, id: keyof T) => rows.filter((r) => r[key]).map((r) => String(r[id]));
  return {
    products: levels.length,
    lines: lines!.lines,
    outOfRange: [...pick(levels, 'outOfRange', 'productId'), ...pick(places, 'outOfRange', 'place')],
    ledger: [...pick(levels, 'ledger', 'productId'), ...pick(places, 'ledger', 'place')],
    held: pick(places, 'held', 'place'),
    holds: pick(places, 'holds', 'place'),
    conversions: conversions.map((c) => c.hold),
    unshipped: pick(places, 'unshipped', 'place'),
    incoming: pick(places, 'incoming', 'place'),
    transfers: transfers.map((t) => t.wrong),
    shipments,
    refunds,
    sums: pick(levels, 'sums', 'productId'),
    sales: lines!.wrong ?? [],
    attribution: attribution.map((a) => a.movement),
  };
}

/** Each line of each transfer, with the transfer's places and status. */
const transferItems = (sql: Executor) => sql`
  transfer_item AS (
    SELECT t.id, t.status, t.from_location_id, t.to_location_id, (i->>'productId')::uuid AS product_id,
           (i->>'quantity')::int AS quantity, (i->>'received')::int AS received
    FROM transfers t CROSS JOIN LATERAL jsonb_array_elements(t.items) i)`;

/** Per order, product and location: shipped (fulfilments) against allocated, for paid orders (others may ship nothing). */
async function shipmentViolations(sql: Executor): Promise<string[]> {
  const rows = await sql<{ unit: string }[]>`
    WITH allocated AS (
      SELECT o.id AS order_id, (a->>'productId')::uuid AS product_id, (a->>'locationId')::uuid AS location_id, sum((a->>'quantity')::int) AS quantity
      FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.allocations) a
      WHERE o.status IN ('processed', 'shipped') AND o.allocations IS NOT NULL AND EXISTS (SELECT 1 FROM fulfilments f WHERE f.order_id = o.id)
      GROUP BY 1, 2, 3
      UNION ALL
      SELECT o.id, (i->>'productId')::uuid, ${DEFAULT_LOCATION_ID}::uuid, (i->>'quantity')::int
      FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.items) i
      WHERE o.status IN ('processed', 'shipped') AND o.allocations IS NULL AND EXISTS (SELECT 1 FROM fulfilments f WHERE f.order_id = o.id)),
    shipped AS (
      SELECT f.order_id, (i->>'productId')::uuid AS product_id, f.location_id, sum((i->>'quantity')::int) AS quantity
      FROM fulfilments f CROSS JOIN LATERAL jsonb_array_elements(f.items) i GROUP BY 1, 2, 3)
    SELECT o.id || ' ' || o.status || ' ' || u.product_id || '@' || u.location_id || ' shipped ' || coalesce(s.quantity, 0) || ' of ' || coalesce(a.quantity, 0) AS unit
    FROM (SELECT order_id, product_id, location_id FROM allocated UNION SELECT order_id, product_id, location_id FROM shipped) u
    JOIN orders o ON o.id = u.order_id
    LEFT JOIN allocated a USING (order_id, product_id, location_id)
    LEFT JOIN shipped s USING (order_id, product_id, location_id)
    WHERE coalesce(s.quantity, 0) > coalesce(a.quantity, 0) OR (o.status = 'shipped' AND coalesce(s.quantity, 0) <> coalesce(a.quantity, 0))
    LIMIT 20`;
  return rows.map((r) => r.unit);
}

async function refundViolations(sql: Executor, provider?: ProviderBooks): Promise<string[]> {
  const rows = await sql<{ id: string; status: string; total: string; refunded: string; done: string; asked: string; charge: string | null; bad: boolean }[]>`
    SELECT o.id, o.status, o.total::text AS total, o.refunded::text AS refunded, coalesce(r.done, 0)::text AS done, coalesce(r.asked, 0)::text AS asked,
           o.payment_reference AS charge,
           (o.refunded > o.total OR o.refunded < 0 OR coalesce(r.asked, 0) > o.total
            OR (o.status NOT IN ('cancelled', 'failed') AND o.refunded <> coalesce(r.done, 0))) AS bad
    FROM orders o
    LEFT JOIN (SELECT order_id, sum(refund_amount) FILTER (WHERE refund_status = 'succeeded') AS done,
                      sum(refund_amount) FILTER (WHERE refund_status <> 'failed') AS asked
               FROM returns GROUP BY order_id) r ON r.order_id = o.id
    WHERE o.refunded <> 0 OR r.order_id IS NOT NULL`;
  const cents = (amount: string) => Math.round(Number(amount) * 100);
  const found = rows.filter((r) => r.bad).map((r) => `${r.id} ${r.status} total ${r.total} refunded ${r.refunded}, returns refunded ${r.done} of ${r.asked} asked`);
  if (!provider) return found;
  const refundedOn = new Map<string, number>();
  for (const refund of provider.refunds) refundedOn.set(refund.chargeId, (refundedOn.get(refund.chargeId) ?? 0) + cents(refund.amount));
  for (const charge of provider.charges) {
    if ((refundedOn.get(charge.id) ?? 0) > cents(charge.amount)) found.push(`charge ${charge.id} of ${charge.amount} refunded ${(refundedOn.get(charge.id) ?? 0) / 100}`);
  }
  for (const r of rows) {
    if (cents(r.refunded) > (r.charge === null ? 0 : (refundedOn.get(r.charge) ?? 0))) found.push(`${r.id} records ${r.refunded} refunded, the provider refunded ${(refundedOn.get(r.charge ?? '') ?? 0) / 100}`);
  }
  return found;
}
