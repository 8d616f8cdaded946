/**
 * The external warehouse, as the service sees it (protocol in API.md, "Warehouse"): physical
 * counts per SKU (and location, by its code; none: the default location), in pages. Two
 * implementations: the built-in simulator and an HTTP client.
 */
export type StockCount = { sku: string; onHand: number; location?: string };
export type StockPage = { items: StockCount[]; nextCursor: string | null };

export class WarehouseError extends Error {
  override name = 'WarehouseError';
}

export interface WarehouseClient {
  fetchPage(cursor: string | null, limit: number): Promise<StockPage>;
}

/** A page is taken whole or not at all: one bad item makes the page malformed. */
export function parsePage(body: unknown): StockPage {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as { items?: unknown }).items)) {
    throw new WarehouseError('malformed page: no items array');
  }
  const { items, nextCursor } = body as { items: unknown[]; nextCursor?: unknown };
  if (nextCursor !== null && nextCursor !== undefined && typeof nextCursor !== 'string') throw new WarehouseError('malformed page: bad nextCursor');
  const parsed = items.map((item, i) => {
    const { sku, onHand, location } = (item ?? {}) as { sku?: unknown; onHand?: unknown; location?: unknown };
    if (typeof sku !== 'string' || sku.length === 0 || typeof onHand !== 'number' || !Number.isInteger(onHand) || onHand < 0 || onHand > 1_000_000_000) {
      throw new WarehouseError(`malformed page: item ${i} is not { sku, onHand >= 0 }`);
    }
    if (location !== undefined && location !== null && (typeof location !== 'string' || location.length === 0 || location.length > 100)) {
      throw new WarehouseError(`malformed page: item ${i} has a location that is not a code`);
    }
    return typeof location === 'string' ? { sku, onHand, location } : { sku, onHand };
  });
  return { items: parsed, nextCursor: (nextCursor as string | null | undefined) ?? null };
}
