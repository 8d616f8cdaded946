import type { Executor } from '../../db/client.ts';
import type { LocationCreate, LocationPatch } from './locations.models.ts';

export type LocationRow = { id: string; code: string; name: string; kind: 'warehouse' | 'store'; priority: number; active: boolean; isDefault: boolean; createdAt: string };

const columns = (sql: Executor) =>
  sql`id, code, name, kind, priority, active, is_default AS "isDefault", created_at AS "createdAt"`;

/** A live location (a deleted one is not found: only the ledger and transfers still name it). */
export async function findLocation(sql: Executor, id: string): Promise<LocationRow | undefined> {
  const [row] = await sql<LocationRow[]>`SELECT ${columns(sql)} FROM locations WHERE id = ${id} AND deleted_at IS NULL`;
  return row;
}

/** Live locations by priority, then code (any case), then id; the cursor is the last row's triple. */
export function listLocations(sql: Executor, after: [number, string, string] | undefined, limit: number) {
  return sql<LocationRow[]>`
    SELECT ${columns(sql)} FROM locations
    WHERE deleted_at IS NULL ${after ? sql`AND (priority, lower(code), id) > (${after[0]}, ${after[1]}, ${after[2]}::uuid)` : sql``}
    ORDER BY priority, lower(code), id LIMIT ${limit}`;
}

export async function insertLocation(sql: Executor, id: string, input: LocationCreate): Promise<LocationRow> {
  const [row] = await sql<LocationRow[]>`
    INSERT INTO locations (id, code, name, kind, priority, active)
    VALUES (${id}, ${input.code}, ${input.name}, ${input.kind ?? 'warehouse'}, ${input.priority ?? 100}, ${input.active ?? true})
    RETURNING ${columns(sql)}`;
  return row!;
}

/**
 * The fields given change; the others stay. The version of every product stocked there moves: a
 * stock batch decided on the location as it was (active, its priority) fails its fence and is
 * decided again (stock-engine.ts).
 */
export async function updateLocation(sql: Executor, id: string, patch: LocationPatch): Promise<LocationRow | undefined> {
  const [row] = await sql<LocationRow[]>`
    WITH moved AS (${moveVersions(sql, id)})
    UPDATE locations SET name = coalesce(${patch.name ?? null}, name), priority = coalesce(${patch.priority ?? null}::int, priority),
                         active = coalesce(${patch.active ?? null}::boolean, active), updated_at = now()
    WHERE id = ${id} AND deleted_at IS NULL
    RETURNING ${columns(sql)}`;
  return row;
}

/** The live location, locked against other changes of it until the caller's transaction ends. */
export async function lockLocation(tx: Executor, id: string): Promise<LocationRow | undefined> {
  const [row] = await tx<LocationRow[]>`SELECT ${columns(tx)} FROM locations WHERE id = ${id} AND deleted_at IS NULL FOR UPDATE`;
  return row;
}

/** What still keeps a location: products with any count there, transfers in transit from or to it. */
export async function holdings(tx: Executor, id: string): Promise<{ products: number; transfers: number }> {
  const [row] = await tx<{ products: number; transfers: number }[]>`
    SELECT (SELECT count(*)::int FROM location_levels
            WHERE location_id = ${id} AND (on_hand <> 0 OR reserved <> 0 OR held <> 0 OR incoming <> 0 OR awaiting_shipment <> 0)) AS products,
           (SELECT count(*)::int FROM transfers
            WHERE status = 'in_transit' AND (from_location_id = ${id} OR to_location_id = ${id})) AS transfers`;
  return row!;
}

/** Soft delete: its ledger rows and transfers keep naming it, its code may be used again. */
export async function markDeleted(tx: Executor, id: string): Promise<void> {
  await tx`
    WITH moved AS (${moveVersions(tx, id)})
    UPDATE locations SET deleted_at = now(), updated_at = now() WHERE id = ${id}`;
}

const moveVersions = (tx: Executor, locationId: string) => tx`
  UPDATE inventory_levels SET version = version + 1
  WHERE product_id IN (SELECT product_id FROM location_levels WHERE location_id = ${locationId})
  RETURNING 1`;

export type LocationStockRow = {
  productId: string;
  sku: string;
  locationId: string;
  locationCode: string;
  onHand: number;
  reserved: number;
  held: number;
  incoming: number;
  awaitingShipment: number;
};

/** The products kept at a location, by product id (the primary key's order: a page reads only its rows). */
export function locationStock(sql: Executor, id: string, afterProductId: string | undefined, limit: number) {
  return sql<LocationStockRow[]>`
    SELECT ll.product_id AS "productId", p.sku, ll.location_id AS "locationId", loc.code AS "locationCode", ll.on_hand AS "onHand",
           ll.reserved, ll.held, ll.incoming, ll.awaiting_shipment AS "awaitingShipment"
    FROM location_levels ll JOIN products p ON p.id = ll.product_id JOIN locations loc ON loc.id = ll.location_id
    WHERE ll.location_id = ${id} ${afterProductId ? sql`AND ll.product_id > ${afterProductId}::uuid` : sql``}
    ORDER BY ll.product_id LIMIT ${limit}`;
}

export type LocationTotalsRow = { locationId: string; products: number; onHand: number; reserved: number; held: number; incoming: number; awaitingShipment: number };

/**
 * What each of these locations holds over every product, summed in one pass over their stock rows
 * (float8: a location's sum over many products may pass an integer's range; a JavaScript number holds it).
 */
export function locationTotals(sql: Executor, ids: string[]) {
  return sql<LocationTotalsRow[]>`
    SELECT location_id AS "locationId",
           count(*) FILTER (WHERE on_hand <> 0 OR reserved <> 0 OR incoming <> 0 OR awaiting_shipment <> 0)::int AS products,
           sum(on_hand)::float8 AS "onHand", sum(reserved)::float8 AS reserved, sum(held)::float8 AS held,
           sum(incoming)::float8 AS incoming, sum(awaiting_shipment)::float8 AS "awaitingShipment"
    FROM location_levels WHERE location_id = ANY(${ids}::uuid[])
    GROUP BY location_id`;
}
