import { conflict } from '../lib/errors.ts';
import type { StockWork } from './stock-engine.ts';
import type { InventoryLevel } from './stock-plan.ts';

/** A warehouse count applied: the level after it, the change, and how far the count fell short of what open orders hold. */
export type SyncOutcome = InventoryLevel & { delta: number; shortfall: number };

/** Relative change, safe under concurrency: refused below what is reserved. */
export const adjustStock = (productId: string, delta: number, reason: string): StockWork<InventoryLevel> => ({
  productIds: [productId],
  apply(desk) {
    desk.move(productId, delta, reason);
    return desk.snapshot(productId);
  },
});

/** Sets the count; with `expectedOnHand` a compare-and-set (409 when it differs). */
export const setStock = (productId: string, onHand: number, reason: string, expectedOnHand?: number): StockWork<InventoryLevel> => ({
  productIds: [productId],
  apply(desk) {
    const current = desk.snapshot(productId).onHand;
    if (expectedOnHand !== undefined && expectedOnHand !== current) {
      throw conflict(`on hand is ${current}, not the expected ${expectedOnHand}`, { onHand: current });
    }
    desk.move(productId, onHand - current, reason);
    return desk.snapshot(productId);
  },
});

/**
 * A warehouse count. The warehouse counts what is physically there, which includes stock sold but
 * not shipped yet: the shop can sell `counted - awaitingShipment`. When that is below what open
 * orders hold, keep what they hold and report the shortfall.
 */
export const syncStock = (productId: string, counted: number, syncRunId: string): StockWork<SyncOutcome> => ({
  productIds: [productId],
  apply(desk) {
    const level = desk.snapshot(productId);
    const sellable = counted - level.awaitingShipment;
    const target = Math.max(sellable, level.reserved);
    const delta = target - level.onHand;
    desk.move(productId, delta, 'warehouse-sync', { syncRunId });
    return { ...desk.snapshot(productId), delta, shortfall: target - sellable };
  },
});
