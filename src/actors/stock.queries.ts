import type postgres from 'postgres';
import type { Executor } from '../db/client.ts';

/** Advisory-lock key of a product's stock: 64 random bits of its UUID (signed, as Postgres bigint). */
export function productLockKey(productId: string): bigint {
  return BigInt.asIntN(64, BigInt(`0x${productId.replaceAll('-', '').slice(16)}`));
}

/**
 * The locations lock (two-int key space, apart from the products' bigint keys): every stock
 * transaction holds it shared, from before its first product lock to its commit; removing a
 * location takes it exclusively (`excludeStockTransactions`), so it sees every stock change that
 * could name the location committed, and no transaction that read the location as live can write
 * there after it is gone. Shared holders never wait for each other.
 */
const LOCATIONS_LOCK = [0x53_54_4b, 3] as const; // ("STK", 3)

/**
 * The statements of a transaction sent together go out in the order they are started: each is
 * started here with `execute()` at once (awaiting a query object starts it a microtask later, so a
 * COMMIT started in the meantime would overtake it, and the statement would run after the COMMIT,
 * outside the transaction).
 *
 * The first statement of a stock transaction, sent with its BEGIN: its settings, the locations
 * lock (shared), the products' locks, and its time (`now()` in every statement of it: the time
 * each stock change and each order it stores carries). The locations lock comes first, before any
 * product lock (a remover queued for it never waits on a transaction that holds a product lock
 * without it); the products' locks are taken in ascending key order, so two transactions that need
 * overlapping products never wait for each other in a cycle. One statement: the target list is
 * evaluated left to right, and the function scan of the sorted keys locks them in order.
 *
 * The statements of a stock transaction run thousands of times a second, each looking rows up by
 * key: planning them every time would cost more than running them, so they always use
 * PostgreSQL's cached generic plan (the sessions' default is a fresh plan each time,
 * src/db/client.ts). `auto` was not enough: for a batch of a few rows it kept choosing a custom
 * plan, 275 µs of planning for a write that runs in 300. A plan cached while a table was empty
 * would scan it for ever after; with sequential scans off, the cached plans are index scans
 * whatever the statistics said when they were made.
 */
export function stockSession(tx: Executor, productIds: readonly string[]): Promise<string> {
  const keys = [...new Set(productIds.map(productLockKey))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
  return tx<{ at: string }[]>`
    SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true),
           pg_advisory_xact_lock_shared(${LOCATIONS_LOCK[0]}, ${LOCATIONS_LOCK[1]}),
           (SELECT count(pg_advisory_xact_lock(k)) FROM unnest(${keys}::bigint[]) AS u(k)),
           now()::text AS at`
    .execute()
    .then(([row]) => row!.at);
}

/**
 * Waits until no stock transaction is under way and holds new ones back until the caller's
 * transaction ends: for removing a location, a rare and short change. Bounded by `lock_timeout`
 * (for the rest of the caller's transaction), so stock work is never held up for longer than that
 * behind a transaction that will not end.
 */
export async function excludeStockTransactions(tx: Executor, lockTimeoutMs: number): Promise<void> {
  await tx`SELECT set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`;
  await tx`SELECT pg_advisory_xact_lock(${LOCATIONS_LOCK[0]}, ${LOCATIONS_LOCK[1]})`;
}

/** A product's stock row (the sums over its locations) and what the stock engine needs of the product. */
export type LevelRow = {
  productId: string;
  onHand: number;
  reserved: number;
  held: number;
  incoming: number;
  awaitingShipment: number;
  version: number;
  updatedAt: string;
  /** The product's alert level (`inventory.low`), carried into the outbox with the change. */
  lowStockThreshold: number | null;
  /** Its catalog price (numeric as text); null once it is archived (it can no longer be ordered). */
  price: string | null;
};

export function readLevels(tx: Executor, productIds: readonly string[]) {
  return tx<LevelRow[]>`
    SELECT l.product_id AS "productId", l.on_hand AS "onHand", l.reserved, l.held, l.incoming, l.awaiting_shipment AS "awaitingShipment",
           l.version, l.updated_at AS "updatedAt", p.low_stock_threshold AS "lowStockThreshold",
           CASE WHEN p.archived_at IS NULL THEN p.price::text END AS price
    FROM inventory_levels l JOIN products p ON p.id = l.product_id
    WHERE l.product_id = ANY(${productIds as string[]}::uuid[])`;
}

/** A live location (not deleted), as allocation sees it. */
export type LocationRow = { locationId: string; code: string; priority: number; active: boolean; isDefault: boolean };
/** A product's counts at one location. */
export type PlaceRow = { productId: string; locationId: string; onHand: number; reserved: number; held: number; incoming: number; awaitingShipment: number; updatedAt: string };

/**
 * Every live location, and the batch's products' counts at each location that has them, in one
 * statement: a location row with no product is a location none of them is stocked at.
 */
export async function readPlaces(tx: Executor, productIds: readonly string[]): Promise<{ locations: LocationRow[]; places: PlaceRow[] }> {
  const rows = await tx<(LocationRow & Partial<PlaceRow> & { productId: string | null })[]>`
    SELECT loc.id AS "locationId", loc.code, loc.priority, loc.active, loc.is_default AS "isDefault",
           ll.product_id AS "productId", ll.on_hand AS "onHand", ll.reserved, ll.held, ll.incoming,
           ll.awaiting_shipment AS "awaitingShipment", ll.updated_at AS "updatedAt"
    FROM locations loc
    LEFT JOIN location_levels ll ON ll.location_id = loc.id AND ll.product_id = ANY(${productIds as string[]}::uuid[])
    WHERE loc.deleted_at IS NULL`;
  const locations = new Map<string, LocationRow>();
  const places: PlaceRow[] = [];
  for (const row of rows) {
    locations.set(row.locationId, { locationId: row.locationId, code: row.code, priority: row.priority, active: row.active, isDefault: row.isDefault });
    if (row.productId !== null) places.push(row as PlaceRow);
  }
  return { locations: [...locations.values()], places };
}

/**
 * The net change of one product in a batch: its sums (and the orders that named it), and the
 * version the batch decided on. The write is fenced on that version: a batch decided on counts
 * someone else changed since fails whole (SR001) and is decided again.
 */
export type LevelDelta = {
  productId: string;
  version: number;
  onHand: number;
  reserved: number;
  held: number;
  incoming: number;
  awaitingShipment: number;
  ordersPlaced: number;
};
/** The net change of a product at one location; `first`: it had no row there (the change is its counts). */
export type PlaceDelta = { productId: string; locationId: string; first: boolean; onHand: number; reserved: number; held: number; incoming: number; awaitingShipment: number };
export type NewMovement = {
  productId: string;
  locationId: string;
  delta: number;
  reason: string;
  orderIds: string[] | null;
  syncRunId: string | null;
  transferId: string | null;
  returnId: string | null;
  /** The location's on hand after it. */
  onHandAfter: number;
};

/** A query text with its parameters, not sent: a piece of a larger statement. */
export type Fragment = postgres.Fragment;

/**
 * A participant's share of a batch's one write statement: data-modifying CTEs (`name AS (...)`,
 * names unique in the batch: each owner prefixes its own), and checks for its final SELECT (a
 * `stockroom_fence` that fails the whole statement when a fenced CTE wrote fewer rows than meant).
 */
export type WritePart = { ctes: Fragment[]; checks: Fragment[] };

const joined = (tx: Executor, parts: Fragment[]): Fragment => parts.reduce((all, part) => tx`${all}, ${part}`);

/**
 * A batch's writes, every owner's, as one statement: all of it or none of it runs. (Statements sent
 * one after the other with COMMIT behind them could commit without one that failed in the driver
 * before reaching the server.) Nothing to write: nothing is sent.
 */
export function writeBatch(tx: Executor, parts: readonly WritePart[]): Promise<void> {
  const ctes = parts.flatMap((p) => p.ctes);
  if (ctes.length === 0) return Promise.resolve();
  const checks = parts.flatMap((p) => p.checks);
  return tx`WITH ${joined(tx, ctes)} SELECT ${checks.length > 0 ? joined(tx, checks) : tx`1`}`.execute().then(() => undefined);
}

/**
 * The stock side of a batch: the locations' counts (a row is made the first time a product is
 * stocked somewhere: an insert of its counts, since an upsert of deltas would be checked against
 * the constraints before the conflict), the products' sums and versions (fenced on the version
 * each was decided on), the ledger rows and the transaction's outbox record (which carries the
 * other participants' parts too, so a transaction has one).
 */
export function stockWrite(
  tx: Executor,
  write: { levels: LevelDelta[]; places: PlaceDelta[]; movements: NewMovement[]; outbox: string | null },
): WritePart {
  const { levels, movements } = write;
  const changed = write.places.filter((p) => !p.first);
  const first = write.places.filter((p) => p.first);
  const ctes: Fragment[] = [];
  const checks: Fragment[] = [];
  if (changed.length > 0) {
    ctes.push(tx`
      s_place AS (
        UPDATE location_levels l
        SET on_hand = l.on_hand + u.d_on_hand, reserved = l.reserved + u.d_reserved, held = l.held + u.d_held,
            incoming = l.incoming + u.d_incoming, awaiting_shipment = l.awaiting_shipment + u.d_awaiting, updated_at = now()
        FROM unnest(${changed.map((p) => p.productId)}::uuid[], ${changed.map((p) => p.locationId)}::uuid[], ${changed.map((p) => p.onHand)}::int[],
                    ${changed.map((p) => p.reserved)}::int[], ${changed.map((p) => p.held)}::int[], ${changed.map((p) => p.incoming)}::int[],
                    ${changed.map((p) => p.awaitingShipment)}::int[])
          AS u(product_id, location_id, d_on_hand, d_reserved, d_held, d_incoming, d_awaiting)
        WHERE l.product_id = ANY(${changed.map((p) => p.productId)}::uuid[]) AND l.product_id = u.product_id AND l.location_id = u.location_id
        RETURNING 1)`);
  }
  if (first.length > 0) {
    ctes.push(tx`
      s_first AS (
        INSERT INTO location_levels (product_id, location_id, on_hand, reserved, held, incoming, awaiting_shipment)
        SELECT * FROM unnest(${first.map((p) => p.productId)}::uuid[], ${first.map((p) => p.locationId)}::uuid[], ${first.map((p) => p.onHand)}::int[],
                             ${first.map((p) => p.reserved)}::int[], ${first.map((p) => p.held)}::int[], ${first.map((p) => p.incoming)}::int[],
                             ${first.map((p) => p.awaitingShipment)}::int[])
        RETURNING 1)`);
  }
  if (levels.length > 0) {
    ctes.push(tx`
      s_level AS (
        UPDATE inventory_levels l
        SET on_hand = l.on_hand + u.d_on_hand, reserved = l.reserved + u.d_reserved, held = l.held + u.d_held, incoming = l.incoming + u.d_incoming,
            awaiting_shipment = l.awaiting_shipment + u.d_awaiting, orders_placed = l.orders_placed + u.d_placed,
            version = l.version + 1, updated_at = now()
        FROM unnest(${levels.map((l) => l.productId)}::uuid[], ${levels.map((l) => l.version)}::int[], ${levels.map((l) => l.onHand)}::int[],
                    ${levels.map((l) => l.reserved)}::int[], ${levels.map((l) => l.held)}::int[], ${levels.map((l) => l.incoming)}::int[],
                    ${levels.map((l) => l.awaitingShipment)}::int[], ${levels.map((l) => l.ordersPlaced)}::int[])
          AS u(product_id, version, d_on_hand, d_reserved, d_held, d_incoming, d_awaiting, d_placed)
        WHERE l.product_id = ANY(${levels.map((l) => l.productId)}::uuid[]) AND l.product_id = u.product_id AND l.version = u.version
        RETURNING 1)`);
    checks.push(tx`stockroom_fence(${levels.length}, (SELECT count(*)::int FROM s_level))`);
  }
  if (movements.length > 0) {
    ctes.push(tx`
      s_ledger AS (
        INSERT INTO stock_movements (product_id, location_id, delta, reason, order_ids, sync_run_id, transfer_id, return_id, on_hand_after)
        SELECT u.product_id, u.location_id, u.delta, u.reason, CASE WHEN u.order_ids IS NULL THEN NULL ELSE string_to_array(u.order_ids, ',')::uuid[] END,
               u.sync_run_id, u.transfer_id, u.return_id, u.on_hand_after
        FROM unnest(${movements.map((m) => m.productId)}::uuid[], ${movements.map((m) => m.locationId)}::uuid[], ${movements.map((m) => m.delta)}::int[],
                    ${movements.map((m) => m.reason)}::text[], ${movements.map((m) => m.orderIds?.join(',') ?? null)}::text[],
                    ${movements.map((m) => m.syncRunId)}::uuid[], ${movements.map((m) => m.transferId)}::uuid[], ${movements.map((m) => m.returnId)}::uuid[],
                    ${movements.map((m) => m.onHandAfter)}::int[])
          AS u(product_id, location_id, delta, reason, order_ids, sync_run_id, transfer_id, return_id, on_hand_after)
        RETURNING 1)`);
  }
  if (write.outbox !== null) ctes.push(tx`s_outbox AS (INSERT INTO events (changes) VALUES (${write.outbox}::json) RETURNING 1)`);
  return { ctes, checks };
}
