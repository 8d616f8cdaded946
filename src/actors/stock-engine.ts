import { iso, type Sql } from '../db/client.ts';
import { AppError } from '../http/errors.ts';
import { applyCommand, orderIdOf, type OrderPolicy, type StockCommand, type StockResult } from './stock-commands.ts';
import { StockPlan } from './stock-plan.ts';
import { lockProducts, readLevels, readOrders, writeStockBatch } from './stock.queries.ts';

/**
 * The stock engine: applies a batch of commands for a set of products in one transaction that
 * holds the products' advisory locks. Levels and orders are read under the lock, commands are
 * applied in arrival order on an in-memory copy, and everything is written back in one statement.
 * A command that is refused (409, 404) fails alone; the rest of the batch goes on.
 *
 * Order rows are not locked: writes are fenced on the version that was read. The only writers of
 * orders that do not take the stock lock (ship, lease claims, payment retries) bump the version,
 * so a batch that lost such a race writes fewer rows than it meant to; it is then rolled back and
 * run again on fresh rows, where the commands of the worker that lost the order come out `stale`.
 */
class LostRace extends Error {}

const MAX_RACES = 5;

export async function runStockBatch(sql: Sql, productIds: string[], commands: StockCommand[], policy: OrderPolicy): Promise<(StockResult | Error)[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOnce(sql, productIds, commands, policy);
    } catch (error) {
      if (!(error instanceof LostRace) || attempt >= MAX_RACES) throw error;
    }
  }
}

async function runOnce(sql: Sql, productIds: string[], commands: StockCommand[], policy: OrderPolicy) {
  const orderIds = [...new Set(commands.map(orderIdOf).filter((id): id is string => id !== undefined))];
  return sql.begin(async (tx) => {
    // Pipelined: the locks, then both reads, in one round trip.
    const [, levels, orders] = await Promise.all([lockProducts(tx, productIds), readLevels(tx, productIds), readOrders(tx, orderIds)]);
    const plan = new StockPlan(levels, orders);
    const outcomes = commands.map((command) => {
      try {
        return applyCommand(plan, command, policy);
      } catch (error) {
        if (error instanceof AppError) return error;
        throw error;
      }
    });
    const levelDeltas = plan.levelDeltas();
    const dirty = plan.dirtyOrders();
    // A movement always changes a level, so no level change and no order change means nothing to write.
    if (levelDeltas.length === 0 && dirty.length === 0) return outcomes;
    const { at, written } = await writeStockBatch(tx, {
      levels: levelDeltas,
      movements: plan.movements,
      orders: dirty,
      logs: plan.logs,
      changes: plan.changes(),
    });
    if (written.length !== dirty.length) throw new LostRace();
    const updatedAt = iso(at);
    const touched = new Set(levelDeltas.map((d) => d.productId));
    return outcomes.map((o) => ('productId' in o && touched.has(o.productId) ? { ...o, updatedAt } : o));
  });
}
