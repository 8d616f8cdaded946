import type { Check } from './checks.ts';
import type { ScenarioDatabase } from './database.ts';
import { AMPLE, ORDERS, orderScenario, ordersUnderLoad } from './scenarios.ts';
import { createProduct, orderBody, payments, warmUp, withService, type Context, type Harness, type ScenarioResult } from './scenario-kit.ts';
import type { LoadResult } from './load.ts';

/** Units an order asks for: more than one, so that an order can straddle two locations. */
const UNITS = 3;

type Place = { code: string; priority: number; stock: number; id: string };

/**
 * The first two locations' stock: a fortieth each of the units the load would order at the
 * warm-up rate, so both run out early in the load even at a fraction of that rate; one more than a
 * multiple of UNITS, so the order that finds one of them short takes its last unit and the rest
 * from the next (the split).
 */
function drainedStock(ctx: Context, warm: LoadResult | null): number {
  const rate = warm ? warm.ok / warm.durationS : (ctx.results.get('hot-sku')?.acceptedPerS ?? 2000);
  const orders = Math.max(20, Math.round((rate * ctx.options.durationS) / 40));
  return orders * UNITS + 1;
}

/** Three locations made through the API, and the product stocked at each with an adjustment naming it. */
async function stockedOverThree(harness: Harness, drained: number): Promise<{ productId: string; places: Place[] }> {
  const places: Omit<Place, 'id'>[] = [
    { code: 'SPLIT-A', priority: 10, stock: drained },
    { code: 'SPLIT-B', priority: 20, stock: drained },
    { code: 'SPLIT-C', priority: 30, stock: AMPLE },
  ];
  const productId = await createProduct(harness.service, 'SPLIT-1', 0);
  const made: Place[] = [];
  for (const place of places) {
    const { id } = await harness.service.api<{ id: string }>('POST', '/api/v1/locations', { code: place.code, name: `Bench ${place.code}`, priority: place.priority });
    await harness.service.api('POST', `/api/v1/products/${productId}/inventory/adjustments`, { delta: place.stock, reason: 'bench stock', locationId: id });
    made.push({ ...place, id });
  }
  return { productId, places: made };
}

/**
 * No oversell, per location: what each sold is at most what it was given (exactly that where it
 * was meant to run out), and its on hand is the rest.
 */
async function perLocationCheck(db: ScenarioDatabase, productId: string, places: Place[]): Promise<Check> {
  const rows = await db.sql<{ locationId: string; sold: number; onHand: number }[]>`
    SELECT ll.location_id AS "locationId", ll.on_hand AS "onHand",
           coalesce((SELECT -sum(delta) FROM stock_movements m WHERE m.product_id = ll.product_id AND m.location_id = ll.location_id AND m.reason = 'sale'), 0)::int AS sold
    FROM location_levels ll WHERE ll.product_id = ${productId}`;
  const at = new Map(rows.map((row) => [row.locationId, row]));
  const wrong = places.filter((place) => {
    const { sold = 0, onHand = 0 } = at.get(place.id) ?? {};
    const exact = place.stock !== AMPLE;
    return (exact ? sold !== place.stock : sold > place.stock) || onHand !== place.stock - sold;
  });
  return {
    ok: wrong.length === 0,
    detail: places.map((place) => `${place.code} sold ${at.get(place.id)?.sold ?? 0} of ${place.stock === AMPLE ? 'ample' : place.stock}, ${at.get(place.id)?.onHand ?? 0} left`).join('; '),
  };
}

/**
 * The orders whose units came from two locations: under `priority` exactly one at each location
 * that ran out (the one that found it short took its last unit and the rest from the next).
 */
async function splitCheck(db: ScenarioDatabase, productId: string, expected: number): Promise<Check> {
  const [row] = await db.sql<{ split: number; allocated: number }[]>`
    SELECT count(*) FILTER (WHERE jsonb_array_length(allocations) > 1)::int AS split, count(*)::int AS allocated
    FROM orders WHERE allocations IS NOT NULL AND allocations @> ${JSON.stringify([{ productId }])}::jsonb`;
  return { ok: row!.split === expected, detail: `${row!.split} of ${row!.allocated} orders took units from two locations (${expected} expected: one where each drained location ran out)` };
}

/**
 * One product over three locations, orders of UNITS that the first two run out of under the load:
 * the rate beside hot-sku's, with the allocation over several locations and its per-location
 * counts checked. Every order cannot split for long: an order splits only when no location it
 * may use covers it, so the locations then hold fewer than three orders' worth together; a load
 * that split every order would measure the restocking between orders (bench/README.md).
 */
export async function splitScenario(ctx: Context): Promise<ScenarioResult> {
  return withService(ctx, 'split', { ...payments.instant, ALLOCATION_STRATEGY: 'priority' }, async (harness) => {
    const warm = await warmUp(ctx, harness, ORDERS);
    const drained = drainedStock(ctx, warm);
    const { productId, places } = await stockedOverThree(harness, drained);
    const run = await ordersUnderLoad(ctx, harness, [orderBody(productId, 'bench', UNITS)]);
    run.checks.noOversellPerLocation = await perLocationCheck(harness.db, productId, places);
    run.checks.splits = await splitCheck(harness.db, productId, 2);
    return orderScenario(ctx, harness, run, {
      name: 'split',
      title: `split: one product over three locations (ALLOCATION_STRATEGY=priority), ${UNITS} units an order, the first two (${drained} units each) run out under the load; payments instant`,
      payments: 'instant',
      notes: [`${drained} units at SPLIT-A and at SPLIT-B, sized from the warm-up rate; SPLIT-C ample`],
    });
  });
}
