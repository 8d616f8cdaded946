import type { Sql } from '../../src/db/client.ts';
import type { InventoryService } from '../../src/modules/inventory/inventory.service.ts';
import type { LocationsService } from '../../src/modules/locations/locations.service.ts';
import { DEMO_LOCATIONS, type CatalogPlan } from './catalog.ts';
import { Progress } from './progress.ts';

/** The demo locations by code: those already there (any case) are kept, the others created. */
export async function ensureLocations(sql: Sql, locations: LocationsService): Promise<{ ids: Map<string, string>; created: number }> {
  const existing = new Map(
    (await sql<{ code: string; id: string }[]>`SELECT lower(code) AS code, id FROM locations WHERE deleted_at IS NULL`).map((row) => [row.code, row.id]),
  );
  const ids = new Map<string, string>();
  let created = 0;
  for (const location of DEMO_LOCATIONS) {
    let id = existing.get(location.code.toLowerCase());
    if (!id) {
      id = (await locations.create({ ...location })).id;
      created++;
    }
    ids.set(location.code, id);
  }
  console.log(`locations: ${created} created, ${DEMO_LOCATIONS.length - created} already there (${DEMO_LOCATIONS.map((l) => l.code).join(', ')})`);
  return { ids, created };
}

/**
 * Puts each plan product's stock at its locations, through its stock actor as any adjustment.
 * Only products that were never stocked (no movement at all: created by this run, or by one that
 * stopped before stocking them), so a second run adds nothing.
 */
export async function stockProducts(sql: Sql, inventory: InventoryService, plan: CatalogPlan, locationIds: Map<string, string>): Promise<number> {
  const planned = new Map(plan.products.map((p) => [p.sku.toLowerCase(), p.stock]));
  const unstocked = await sql<{ id: string; sku: string }[]>`
    SELECT p.id, lower(p.sku) AS sku FROM products p
    WHERE lower(p.sku) = ANY(${[...planned.keys()]}) AND NOT EXISTS (SELECT 1 FROM stock_movements m WHERE m.product_id = p.id)`;
  const work = unstocked.filter((product) => planned.get(product.sku)!.length > 0);
  const progress = new Progress('stock at locations', work.length);
  for (let start = 0; start < work.length; start += 8) {
    await Promise.all(
      work.slice(start, start + 8).map(async (product) => {
        for (const place of planned.get(product.sku)!) {
          await inventory.adjust(product.id, { delta: place.quantity, reason: 'initial', locationId: locationIds.get(place.code)! });
        }
        progress.tick();
      }),
    );
  }
  progress.finish(`${work.length} products stocked`);
  return work.length;
}
