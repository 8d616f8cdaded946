import type { Executor } from '../db/client.ts';

/** Advisory-lock key of a product's stock: 64 random bits of its UUID (signed, as Postgres bigint). */
export function productLockKey(productId: string): bigint {
  return BigInt.asIntN(64, BigInt(`0x${productId.replaceAll('-', '').slice(16)}`));
}

/**
 * The first statement of a stock transaction, sent with its BEGIN: its settings, and its time
 * (`now()` in every statement of it: the time each stock change and each order it stores carries).
 *
 * The statements of a stock transaction run thousands of times a second, each looking rows up by
 * key: planning them every time would cost more than running them, so they keep PostgreSQL's
 * cached plans (the sessions' default is a fresh plan each time, src/db/client.ts). A plan cached
 * while a table was empty would scan it for ever after; with sequential scans off, the cached plans
 * are index scans whatever the statistics said when they were made.
 */
export async function stockSession(tx: Executor): Promise<string> {
  const [row] = await tx<{ at: string }[]>`
    SELECT set_config('plan_cache_mode', 'auto', true), set_config('enable_seqscan', 'off', true), now()::text AS at`;
  return row!.at;
}

/**
 * Takes the stock locks of several products in ascending key order, so that two transactions that
 * need overlapping products can never wait for each other in a cycle.
 */
export async function lockProducts(tx: Executor, productIds: readonly string[]): Promise<void> {
  const keys = [...new Set(productIds.map(productLockKey))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (keys.length === 1) {
    await tx`SELECT pg_advisory_xact_lock(${keys[0]!.toString()}::bigint)`;
    return;
  }
  // One statement: a function scan of the array yields its elements in order, one lock at a time.
  await tx`SELECT pg_advisory_xact_lock(k) FROM unnest(${keys.map(String)}::bigint[]) AS u(k)`;
}

export type LevelRow = {
  productId: string;
  onHand: number;
  reserved: number;
  awaitingShipment: number;
  updatedAt: string;
  /** The product's alert level (`inventory.low`), carried into the outbox with the change. */
  lowStockThreshold: number | null;
};

export function readLevels(tx: Executor, productIds: readonly string[]) {
  return tx<LevelRow[]>`
    SELECT l.product_id AS "productId", l.on_hand AS "onHand", l.reserved, l.awaiting_shipment AS "awaitingShipment",
           l.updated_at AS "updatedAt", p.low_stock_threshold AS "lowStockThreshold"
    FROM inventory_levels l JOIN products p ON p.id = l.product_id
    WHERE l.product_id = ANY(${productIds as string[]}::uuid[])`;
}

export type LevelDelta = { productId: string; onHand: number; reserved: number; awaitingShipment: number; ordersPlaced: number };
export type NewMovement = {
  productId: string;
  delta: number;
  reason: string;
  orderIds: string[] | null;
  syncRunId: string | null;
  onHandAfter: number;
};

/**
 * The stock side of a batch in one statement (data-modifying CTEs always run): the levels, the
 * ledger rows and the transaction's outbox record (which carries the other participants' parts
 * too, so a transaction has one).
 */
export async function writeStock(tx: Executor, write: { levels: LevelDelta[]; movements: NewMovement[]; outbox: string | null }): Promise<void> {
  const { levels, movements } = write;
  await tx`
    WITH lv AS (
      UPDATE inventory_levels l
      SET on_hand = l.on_hand + u.d_on_hand, reserved = l.reserved + u.d_reserved,
          awaiting_shipment = l.awaiting_shipment + u.d_awaiting, orders_placed = l.orders_placed + u.d_placed, updated_at = now()
      FROM unnest(${levels.map((l) => l.productId)}::uuid[], ${levels.map((l) => l.onHand)}::int[],
                  ${levels.map((l) => l.reserved)}::int[], ${levels.map((l) => l.awaitingShipment)}::int[], ${levels.map((l) => l.ordersPlaced)}::int[])
        AS u(product_id, d_on_hand, d_reserved, d_awaiting, d_placed)
      -- Indexable: joined on unnest alone, a generic plan may scan every level.
      WHERE l.product_id = ANY(${levels.map((l) => l.productId)}::uuid[]) AND l.product_id = u.product_id
      RETURNING 1
    ), mv AS (
      INSERT INTO stock_movements (product_id, delta, reason, order_ids, sync_run_id, on_hand_after)
      SELECT u.product_id, u.delta, u.reason, CASE WHEN u.order_ids IS NULL THEN NULL ELSE string_to_array(u.order_ids, ',')::uuid[] END, u.sync_run_id, u.on_hand_after
      FROM unnest(${movements.map((m) => m.productId)}::uuid[], ${movements.map((m) => m.delta)}::int[],
                  ${movements.map((m) => m.reason)}::text[], ${movements.map((m) => m.orderIds?.join(',') ?? null)}::text[],
                  ${movements.map((m) => m.syncRunId)}::uuid[], ${movements.map((m) => m.onHandAfter)}::int[])
        AS u(product_id, delta, reason, order_ids, sync_run_id, on_hand_after)
      RETURNING 1
    ), ev AS (
      INSERT INTO events (changes) SELECT ${write.outbox}::json WHERE ${write.outbox !== null}
      RETURNING 1
    )
    SELECT 1`;
}
