import type { NewMovement } from '../../actors/stock.queries.ts';
import type { Executor } from '../../db/client.ts';

export type InventoryRow = { productId: string; onHand: number; reserved: number; awaitingShipment: number; updatedAt: string };

export async function findInventory(sql: Executor, productId: string): Promise<InventoryRow | undefined> {
  const [row] = await sql<InventoryRow[]>`
    SELECT product_id AS "productId", on_hand AS "onHand", reserved, awaiting_shipment AS "awaitingShipment", updated_at AS "updatedAt"
    FROM inventory_levels WHERE product_id = ${productId}`;
  return row;
}

export type MovementRow = NewMovement & { id: string; createdAt: string };

/** Newest first; `beforeId` is the cursor. */
export function listMovements(sql: Executor, productId: string, beforeId: string | undefined, limit: number) {
  return sql<MovementRow[]>`
    SELECT id::text, product_id AS "productId", delta, reason, order_ids::text[] AS "orderIds", sync_run_id AS "syncRunId",
           on_hand_after AS "onHandAfter", created_at AS "createdAt"
    FROM stock_movements
    WHERE product_id = ${productId} ${beforeId === undefined ? sql`` : sql`AND id < ${beforeId}::bigint`}
    ORDER BY stock_movements.id DESC LIMIT ${limit}`;
}
