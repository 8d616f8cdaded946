import { iso, type Sql } from '../db/client.ts';
import { AppError, conflict, notFound } from '../http/errors.ts';
import { lockProducts, readLevels, writeStockBatch, type LevelRow, type MovementRow } from './stock.queries.ts';

/**
 * The stock engine: applies a batch of commands for a set of products in one transaction that
 * holds the products' advisory locks. Levels are read under the lock, commands are applied in
 * arrival order on an in-memory copy, and everything is written back in one statement. A command
 * that is refused (409, 404) fails alone; the rest of the batch goes on.
 *
 * Actors call it for one product at a time; multi-product work calls it with all its products.
 * Whoever calls it, the advisory locks serialise it with every other writer of those products, in
 * this process or another one.
 */
export type InventoryLevel = { productId: string; onHand: number; reserved: number; available: number; updatedAt: string };

export type StockCommand =
  | { kind: 'adjust'; productId: string; delta: number; reason: string }
  | { kind: 'set'; productId: string; onHand: number; expectedOnHand?: number; reason: string };

export type StockResult = InventoryLevel;

type Working = LevelRow & { startOnHand: number; startReserved: number; touched: boolean };

export class StockPlan {
  readonly movements: MovementRow[] = [];
  readonly changes: unknown[] = [];
  private readonly levels = new Map<string, Working>();

  constructor(rows: LevelRow[]) {
    for (const row of rows) {
      this.levels.set(row.productId, { ...row, updatedAt: iso(row.updatedAt), startOnHand: row.onHand, startReserved: row.reserved, touched: false });
    }
  }

  level(productId: string): Working {
    const level = this.levels.get(productId);
    if (!level) throw notFound(`product ${productId}`);
    return level;
  }

  /** Changes `on_hand` by `delta` and records the movement; refuses to go below what is reserved. */
  move(productId: string, delta: number, reason: string, refs: { orderId?: string; syncRunId?: string } = {}) {
    const level = this.level(productId);
    if (delta === 0) return;
    if (level.onHand + delta < level.reserved) {
      throw conflict(`on hand would be ${level.onHand + delta}, below the ${level.reserved} reserved by open orders`, {
        onHand: level.onHand,
        reserved: level.reserved,
      });
    }
    level.onHand += delta;
    level.touched = true;
    this.movements.push({
      productId,
      delta,
      reason,
      orderId: refs.orderId ?? null,
      syncRunId: refs.syncRunId ?? null,
      onHandAfter: level.onHand,
    });
  }

  /** The level as it stands at this point of the batch; `updatedAt` is filled in after the write. */
  snapshot(productId: string): InventoryLevel {
    const { onHand, reserved, updatedAt } = this.level(productId);
    return { productId, onHand, reserved, available: onHand - reserved, updatedAt };
  }

  deltas() {
    return [...this.levels.values()]
      .filter((l) => l.touched)
      .map((l) => ({ productId: l.productId, onHand: l.onHand - l.startOnHand, reserved: l.reserved - l.startReserved }));
  }

  touchedSnapshots() {
    return [...this.levels.values()]
      .filter((l) => l.touched)
      .map((l) => ({ type: 'inventory.changed', productId: l.productId, onHand: l.onHand, reserved: l.reserved, available: l.onHand - l.reserved }));
  }
}

function apply(plan: StockPlan, command: StockCommand): StockResult {
  switch (command.kind) {
    case 'adjust':
      plan.move(command.productId, command.delta, command.reason);
      return plan.snapshot(command.productId);
    case 'set': {
      const level = plan.level(command.productId);
      if (command.expectedOnHand !== undefined && command.expectedOnHand !== level.onHand) {
        throw conflict(`on hand is ${level.onHand}, not the expected ${command.expectedOnHand}`, { onHand: level.onHand });
      }
      plan.move(command.productId, command.onHand - level.onHand, command.reason);
      return plan.snapshot(command.productId);
    }
  }
}

export async function runStockBatch(sql: Sql, productIds: string[], commands: StockCommand[]): Promise<(StockResult | Error)[]> {
  return sql.begin(async (tx) => {
    await lockProducts(tx, productIds);
    const plan = new StockPlan(await readLevels(tx, productIds));
    const outcomes = commands.map((command) => {
      try {
        return apply(plan, command);
      } catch (error) {
        if (error instanceof AppError) return error;
        throw error;
      }
    });
    const deltas = plan.deltas();
    if (deltas.length === 0) return outcomes;
    const at = iso(await writeStockBatch(tx, { levels: deltas, movements: plan.movements, changes: plan.touchedSnapshots() }));
    const touched = new Set(deltas.map((d) => d.productId));
    return outcomes.map((o) => (o instanceof Error || !touched.has(o.productId) ? o : { ...o, updatedAt: at }));
  });
}
