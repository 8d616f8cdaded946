import { AppError, conflict } from '../lib/errors.ts';
import type { StockWork } from './stock-engine.ts';
import type { Counts, InventoryLevel, StockDesk } from './stock-plan.ts';

/** A warehouse count applied at one location: the level after it, the location's counts, the change, and how far the count fell short of what open orders hold there. */
export type SyncOutcome = { level: InventoryLevel; place: Counts; delta: number; shortfall: number };

/** The location a stock write names (the default one when it names none): live and active, or a 422 naming the field. */
function locationOf(desk: StockDesk, locationId: string | undefined): string {
  if (locationId === undefined) return desk.defaultLocationId;
  const location = desk.location(locationId);
  if (!location?.active) {
    throw new AppError('validation', `location ${locationId} ${location ? 'is inactive' : 'does not exist'}`, [
      { path: 'body.locationId', message: location ? 'is an inactive location' : 'is not a location' },
    ]);
  }
  return locationId;
}

/** Relative change at a location, safe under concurrency: refused below what is reserved there. */
export const adjustStock = (productId: string, delta: number, reason: string, locationId?: string): StockWork<InventoryLevel> => ({
  productIds: [productId],
  apply(desk) {
    desk.move(productId, locationOf(desk, locationId), delta, reason);
    return desk.snapshot(productId);
  },
});

/**
 * Sets the count at a location; with `expectedOnHand` a compare-and-set (409 when it differs).
 * Naming no location is only clear for a product kept at one place: for one stocked at several,
 * 409 asks which.
 */
export const setStock = (productId: string, onHand: number, reason: string, options: { expectedOnHand?: number; locationId?: string } = {}): StockWork<InventoryLevel> => ({
  productIds: [productId],
  apply(desk) {
    if (options.locationId === undefined) {
      const stocked = desk.snapshot(productId).locations.filter((l) => l.onHand + l.reserved + l.incoming + l.awaitingShipment > 0);
      if (stocked.length > 1) {
        throw conflict(`this product is stocked at ${stocked.map((l) => l.locationCode).join(', ')}: name the location (locationId) to set`, {
          locations: stocked.map((l) => l.locationId),
        });
      }
    }
    const locationId = locationOf(desk, options.locationId);
    const current = desk.countsAt(productId, locationId).onHand;
    if (options.expectedOnHand !== undefined && options.expectedOnHand !== current) {
      throw conflict(`on hand is ${current}, not the expected ${options.expectedOnHand}`, { onHand: current });
    }
    desk.move(productId, locationId, onHand - current, reason);
    return desk.snapshot(productId);
  },
});

/**
 * A warehouse count at one location. The warehouse counts what is physically there, which
 * includes stock sold but not shipped yet: the shop can sell `counted - awaitingShipment` there.
 * When that is below what open orders hold there, keep what they hold and report the shortfall.
 */
export const syncStock = (productId: string, locationId: string, counted: number, syncRunId: string): StockWork<SyncOutcome> => ({
  productIds: [productId],
  apply(desk) {
    const before = desk.countsAt(productId, locationId);
    const sellable = counted - before.awaitingShipment;
    const target = Math.max(sellable, before.reserved);
    const delta = target - before.onHand;
    desk.move(productId, locationId, delta, 'warehouse-sync', { syncRunId });
    return { level: desk.snapshot(productId), place: desk.countsAt(productId, locationId), delta, shortfall: target - sellable };
  },
});
