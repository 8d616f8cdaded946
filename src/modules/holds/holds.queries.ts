import type { WritePart } from '../../actors/stock.queries.ts';
import type { Executor } from '../../db/client.ts';
import type { HoldItem } from '../../db/schema/holds.ts';
import type { HoldStatus } from './hold-book.ts';

/** A hold as stored, with whether its time is up as of the statement (`now()`: in a stock transaction, the transaction's time). */
export type HoldRow = {
  id: string;
  customerId: string | null;
  status: HoldStatus;
  items: HoldItem[];
  locationIds: string[] | null;
  expiresAt: string;
  orderId: string | null;
  createdAt: string;
  /** `expires_at <= now()`: it reads `expired` whatever `status` says while that is `active`. */
  lapsed: boolean;
  scope: string | null;
  key: string | null;
  requestHash: string | null;
};

const columns = (tx: Executor) => tx`
  id, customer_id AS "customerId", status, items, location_ids::text[] AS "locationIds", expires_at AS "expiresAt", order_id AS "orderId",
  created_at AS "createdAt", expires_at <= now() AS lapsed, idempotency_scope AS scope, idempotency_key AS key, request_hash AS "requestHash"`;

export function findHolds(tx: Executor, ids: readonly string[]) {
  if (ids.length === 0) return Promise.resolve([] as HoldRow[]);
  return tx<HoldRow[]>`SELECT ${columns(tx)} FROM holds WHERE id = ANY(${ids as string[]}::uuid[])`;
}

/** Holds stored under these idempotency keys (each in its credential's scope). */
export function findKeyedHolds(tx: Executor, keys: { scope: string; key: string }[]) {
  if (keys.length === 0) return Promise.resolve([] as HoldRow[]);
  return tx<HoldRow[]>`
    SELECT ${columns(tx)} FROM holds h
    JOIN unnest(${keys.map((k) => k.scope)}::text[], ${keys.map((k) => k.key)}::text[]) AS k(scope, key)
      ON h.idempotency_scope = k.scope AND h.idempotency_key = k.key
    WHERE h.idempotency_key = ANY(${keys.map((k) => k.key)}::text[])`;
}

/** Most lapsed holds of some products one batch gives back; more are the next batch's (or the sweep's). */
const LAPSES_PER_BATCH = 1000;

/**
 * Active holds of these products whose time is up: found through the partial index on
 * `expires_at` (active holds only), so the rows looked at are the lapsed ones, a handful at most
 * while the expiry sweep keeps up.
 */
export function findLapsedHolds(tx: Executor, productIds: readonly string[]) {
  return tx<HoldRow[]>`
    SELECT ${columns(tx)} FROM holds h
    WHERE h.status = 'active' AND h.expires_at <= now()
      AND EXISTS (SELECT 1 FROM jsonb_array_elements(h.items) i WHERE (i->>'productId')::uuid = ANY(${productIds as string[]}::uuid[]))
    ORDER BY h.expires_at LIMIT ${LAPSES_PER_BATCH}`;
}

/** The products of the batch that can be held (not archived), read under their stock locks. */
export function findHoldableProducts(tx: Executor, productIds: readonly string[]) {
  return tx<{ id: string }[]>`SELECT id FROM products WHERE id = ANY(${productIds as string[]}::uuid[]) AND archived_at IS NULL`;
}

export type NewHoldRow = {
  id: string;
  customerId: string | null;
  items: HoldItem[];
  locationIds: string[] | null;
  expiresAt: string;
  scope: string | null;
  key: string | null;
  hash: string | null;
};

/** A hold's new state: what a batch changed (extended, converted, released, expired). */
export type HoldChange = { id: string; status: HoldStatus; expiresAt: string; orderId: string | null };

/**
 * A batch's holds, a part of its one write statement: the new ones inserted, the changed ones updated, each change
 * only of a hold still `active` (every change of a hold is made under the locks of all its
 * products, so it always is; the fence says so loudly if not). An idempotency key taken
 * meanwhile by another process fails the statement (SR001) too: the batch is redone and the key
 * is a replay.
 */
export function writeHolds(tx: Executor, created: NewHoldRow[], changes: HoldChange[]): WritePart {
  const ctes = [
    tx`h_new AS (
      INSERT INTO holds (id, customer_id, items, location_ids, expires_at, idempotency_scope, idempotency_key, request_hash)
      SELECT u.id, u.customer_id, u.items::jsonb, CASE WHEN u.location_ids IS NULL THEN NULL ELSE string_to_array(u.location_ids, ',')::uuid[] END,
             u.expires_at::timestamptz, u.scope, u.key, u.hash
      FROM unnest(${created.map((h) => h.id)}::uuid[], ${created.map((h) => h.customerId)}::text[], ${created.map((h) => JSON.stringify(h.items))}::text[],
                  ${created.map((h) => h.locationIds?.join(',') ?? null)}::text[], ${created.map((h) => h.expiresAt)}::text[],
                  ${created.map((h) => h.scope)}::text[], ${created.map((h) => h.key)}::text[], ${created.map((h) => h.hash)}::text[])
        AS u(id, customer_id, items, location_ids, expires_at, scope, key, hash)
      ON CONFLICT (idempotency_scope, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
      RETURNING 1)`,
    tx`h_upd AS (
      UPDATE holds h SET status = u.status, expires_at = u.expires_at::timestamptz, order_id = u.order_id, updated_at = now()
      FROM unnest(${changes.map((c) => c.id)}::uuid[], ${changes.map((c) => c.status)}::text[], ${changes.map((c) => c.expiresAt)}::text[],
                  ${changes.map((c) => c.orderId)}::uuid[]) AS u(id, status, expires_at, order_id)
      WHERE h.id = ANY(${changes.map((c) => c.id)}::uuid[]) AND h.id = u.id AND h.status = 'active'
      RETURNING 1)`,
  ];
  return { ctes, checks: [tx`stockroom_fence(${created.length + changes.length}, (SELECT count(*)::int FROM h_new) + (SELECT count(*)::int FROM h_upd))`] };
}

/** Most lapsed holds one sweep hands to the stock actors; the next sweep (a moment later) takes the rest. */
export const SWEEP_LIMIT = 500;

/** Active holds whose time is up (the partial index), oldest first: what the expiry sweep gives back. */
export function findExpiredHolds(sql: Executor, limit = SWEEP_LIMIT) {
  return sql<{ id: string; items: HoldItem[] }[]>`
    SELECT id, items FROM holds WHERE status = 'active' AND expires_at <= now() ORDER BY expires_at LIMIT ${limit}`;
}

/** One hold as clients read it (its status as of now). */
export async function findHold(sql: Executor, id: string): Promise<HoldRow | undefined> {
  const [row] = await findHolds(sql, [id]);
  return row;
}

/** A page of holds, newest first; `active` means not expired as of now. */
export function listHolds(sql: Executor, filter: { productId?: string; status?: HoldStatus; customerId?: string; beforeId?: string; limit: number }) {
  const status =
    filter.status === undefined
      ? sql``
      : filter.status === 'expired'
        ? sql`AND (status = 'expired' OR (status = 'active' AND expires_at <= now()))`
        : filter.status === 'active'
          ? sql`AND status = 'active' AND expires_at > now()`
          : sql`AND status = ${filter.status}`;
  return sql<HoldRow[]>`
    SELECT ${columns(sql)} FROM holds
    WHERE true
      ${filter.productId === undefined ? sql`` : sql`AND items @> ${JSON.stringify([{ productId: filter.productId }])}::jsonb`}
      ${filter.customerId === undefined ? sql`` : sql`AND customer_id = ${filter.customerId}`}
      ${filter.beforeId === undefined ? sql`` : sql`AND id < ${filter.beforeId}::uuid`}
      ${status}
    ORDER BY id DESC LIMIT ${filter.limit}`;
}

/** Holds whose stock is held now (active, not expired). */
export async function countActiveHolds(sql: Executor): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM holds WHERE status = 'active' AND expires_at > now()`;
  return row!.n;
}
