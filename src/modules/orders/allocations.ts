import type { Allocation, StockDesk } from '../../actors/stock-plan.ts';
import { AppError } from '../../lib/errors.ts';
import type { LineAllocation } from './order-state.ts';

export type Line = { productId: string; quantity: number };

/**
 * Every line's units from the locations the order may use (all active ones, or `allowed`), or
 * null when one line is short: all or nothing. Each product is on one line, so the lines do not
 * compete for the same units.
 */
export function allocateLines(desk: StockDesk, lines: readonly Line[], allowed?: ReadonlySet<string>): LineAllocation[] | null {
  const allocations: LineAllocation[] = [];
  for (const line of lines) {
    const found = desk.allocate(line.productId, line.quantity, allowed);
    if (!found) return null;
    for (const a of found) allocations.push({ productId: line.productId, locationId: a.locationId, quantity: a.quantity });
  }
  return allocations;
}

/** Why the stock cannot be held for these lines (the first one short), or null when it can. */
export function shortage(desk: StockDesk, lines: readonly Line[], allowed?: ReadonlySet<string>): string | null {
  const short = lines.find((line) => desk.available(line.productId, allowed) < line.quantity);
  if (!short) return null;
  const where = allowed ? ' at the locations it may come from' : '';
  return `insufficient stock for product ${short.productId}: ${short.quantity} wanted, ${desk.available(short.productId, allowed)} available${where}`;
}

/**
 * The order's units by product and location: its allocations, or, for an order reserved by code
 * before locations existed (which recorded none), every line at the default location.
 */
export function unitsByProduct(order: { items: readonly Line[]; allocations: readonly LineAllocation[] | null }, defaultLocationId: string): Map<string, Allocation[]> {
  const byProduct = new Map<string, Allocation[]>();
  const all = order.allocations ?? order.items.map((line) => ({ productId: line.productId, locationId: defaultLocationId, quantity: line.quantity }));
  for (const { productId, locationId, quantity } of all) byProduct.set(productId, [...(byProduct.get(productId) ?? []), { locationId, quantity }]);
  return byProduct;
}

/** The locations an order may take its stock from, as a set (undefined: any active one). */
export const allowedLocations = (locationIds: readonly string[] | null | undefined) => (locationIds && locationIds.length > 0 ? new Set(locationIds) : undefined);

/**
 * The locations a request names (an order's or a hold's `locationIds`), each live and active, or
 * a 422 naming the one that is not; undefined: any.
 */
export function requestedLocations(desk: StockDesk, locationIds: readonly string[] | null | undefined): ReadonlySet<string> | undefined {
  const wrong = (locationIds ?? []).flatMap((id, i) => (desk.location(id)?.active ? [] : [{ id, i, known: desk.location(id) !== undefined }]));
  if (wrong.length > 0) {
    throw new AppError(
      'validation',
      `not a location stock may come from: ${wrong.map((w) => w.id).join(', ')}`,
      wrong.map(({ i, known }) => ({ path: `body.locationIds[${i}]`, message: known ? 'is an inactive location' : 'is not a location' })),
    );
  }
  return allowedLocations(locationIds);
}

/** The products of a request's lines (an order's or a hold's), each once: a product twice is refused (its lines would race each other for stock). */
export function distinctProducts(items: readonly Line[]): string[] {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const first = seen.get(item.productId);
    if (first !== undefined) {
      throw new AppError('validation', `product ${item.productId} appears more than once`, [
        { path: `body.items[${i}].productId`, message: `repeats items[${first}]: name each product once, with its total quantity` },
      ]);
    }
    seen.set(item.productId, i);
  });
  return [...seen.keys()];
}
