import type { Executor } from '../db/client.ts';

/** Advisory-lock key of a product's stock: 64 random bits of its UUID (signed, as Postgres bigint). */
export function productLockKey(productId: string): bigint {
  return BigInt.asIntN(64, BigInt(`0x${productId.replaceAll('-', '').slice(16)}`));
}

/**
 * Takes the stock locks of several products in ascending key order, so that two transactions that
 * need overlapping products can never wait for each other in a cycle.
 */
export async function lockProducts(tx: Executor, productIds: string[]): Promise<void> {
  const keys = [...new Set(productIds.map(productLockKey))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const key of keys) await tx`SELECT pg_advisory_xact_lock(${key.toString()}::bigint)`;
}

export type LevelRow = { productId: string; onHand: number; reserved: number; updatedAt: string };

export function readLevels(tx: Executor, productIds: string[]) {
  return tx<LevelRow[]>`
    SELECT product_id AS "productId", on_hand AS "onHand", reserved, updated_at AS "updatedAt"
    FROM inventory_levels WHERE product_id = ANY(${productIds}::uuid[])`;
}

export type LevelDelta = { productId: string; onHand: number; reserved: number };
export type MovementRow = {
  productId: string;
  delta: number;
  reason: string;
  orderId: string | null;
  syncRunId: string | null;
  onHandAfter: number;
};

export type StockWrite = {
  levels: LevelDelta[];
  movements: MovementRow[];
  /** Outbox payload of this transaction (null when nothing observable changed). */
  changes: unknown[] | null;
};

/**
 * Writes a whole batch in one statement (data-modifying CTEs always run, read or not); returns the
 * transaction's timestamp.
 */
export async function writeStockBatch(tx: Executor, write: StockWrite): Promise<string> {
  const { levels, movements } = write;
  const [row] = await tx<{ at: string }[]>`
    WITH lv AS (
      UPDATE inventory_levels l
      SET on_hand = l.on_hand + u.d_on_hand, reserved = l.reserved + u.d_reserved, updated_at = now()
      FROM unnest(${levels.map((l) => l.productId)}::uuid[], ${levels.map((l) => l.onHand)}::int[],
                  ${levels.map((l) => l.reserved)}::int[]) AS u(product_id, d_on_hand, d_reserved)
      WHERE l.product_id = u.product_id
      RETURNING 1
    ), mv AS (
      INSERT INTO stock_movements (product_id, delta, reason, order_id, sync_run_id, on_hand_after)
      SELECT * FROM unnest(${movements.map((m) => m.productId)}::uuid[], ${movements.map((m) => m.delta)}::int[],
                           ${movements.map((m) => m.reason)}::text[], ${movements.map((m) => m.orderId)}::uuid[],
                           ${movements.map((m) => m.syncRunId)}::uuid[], ${movements.map((m) => m.onHandAfter)}::int[])
      RETURNING 1
    ), ev AS (
      INSERT INTO events (changes) SELECT ${write.changes === null ? null : JSON.stringify(write.changes)}::jsonb
      WHERE ${write.changes !== null}
      RETURNING 1
    )
    SELECT now()::text AS at`;
  return row!.at;
}
