import { readLevels, type LevelRow, type NewMovement } from '../../actors/stock.queries.ts';
import type { Executor } from '../../db/client.ts';

/** A product's stock row, as the stock engine reads it. */
export async function findInventory(sql: Executor, productId: string): Promise<LevelRow | undefined> {
  const [row] = await readLevels(sql, [productId]);
  return row;
}

export type MovementRow = NewMovement & { id: string; createdAt: string };

/** Newest first; `beforeId` is the cursor. */
export function listMovements(sql: Executor, productId: string, beforeId: string | undefined, limit: number) {
  return sql<MovementRow[]>`
    SELECT id::text, product_id AS "productId", location_id AS "locationId", delta, reason, order_ids::text[] AS "orderIds",
           sync_run_id AS "syncRunId", transfer_id AS "transferId", return_id AS "returnId", on_hand_after AS "onHandAfter", created_at AS "createdAt"
    FROM stock_movements
    WHERE product_id = ${productId} ${beforeId === undefined ? sql`` : sql`AND id < ${beforeId}::bigint`}
    ORDER BY stock_movements.id DESC LIMIT ${limit}`;
}
