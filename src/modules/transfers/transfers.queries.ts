import type { WritePart } from '../../actors/stock.queries.ts';
import type { Executor } from '../../db/client.ts';
import type { TransferItem } from '../../db/schema/locations.ts';

export type TransferStatus = 'in_transit' | 'received' | 'cancelled';

export type TransferRow = {
  id: string;
  fromLocationId: string;
  toLocationId: string;
  status: TransferStatus;
  items: TransferItem[];
  /** The Idempotency-Key it was created with, in its credential's scope, and the request's hash. */
  scope: string | null;
  key: string | null;
  requestHash: string | null;
  createdAt: string;
  updatedAt: string;
};

const columns = (sql: Executor) => sql`
  id, from_location_id AS "fromLocationId", to_location_id AS "toLocationId", status, items,
  idempotency_scope AS scope, idempotency_key AS key, request_hash AS "requestHash", created_at AS "createdAt", updated_at AS "updatedAt"`;

export async function findTransfer(sql: Executor, id: string): Promise<TransferRow | undefined> {
  const [row] = await sql<TransferRow[]>`SELECT ${columns(sql)} FROM transfers WHERE id = ${id}`;
  return row;
}

/** Newest first (ids are time-ordered UUIDv7); `beforeId` is the cursor. */
export function listTransfers(sql: Executor, filter: { status?: TransferStatus; beforeId?: string; limit: number }) {
  return sql<TransferRow[]>`
    SELECT ${columns(sql)} FROM transfers
    WHERE true ${filter.status ? sql`AND status = ${filter.status}` : sql``} ${filter.beforeId ? sql`AND id < ${filter.beforeId}` : sql``}
    ORDER BY id DESC LIMIT ${filter.limit}`;
}

/** The transfers a stock batch works on, read under their products' locks (every write of one happens under them). */
export function readTransfers(tx: Executor, ids: string[]) {
  if (ids.length === 0) return Promise.resolve([] as TransferRow[]);
  return tx<TransferRow[]>`SELECT ${columns(tx)} FROM transfers WHERE id = ANY(${ids}::uuid[])`;
}

/** Transfers created under these Idempotency-Keys (each in its scope). */
export function findKeyedTransfers(tx: Executor, keys: { scope: string; key: string }[]) {
  if (keys.length === 0) return Promise.resolve([] as TransferRow[]);
  return tx<TransferRow[]>`
    SELECT ${columns(tx)} FROM transfers t
    JOIN unnest(${keys.map((k) => k.scope)}::text[], ${keys.map((k) => k.key)}::text[]) AS k(scope, key)
      ON t.idempotency_scope = k.scope AND t.idempotency_key = k.key
    -- Conditions on transfers alone, so the partial unique index is used whatever the join's plan.
    WHERE t.idempotency_key = ANY(${keys.map((k) => k.key)}::text[]) AND t.idempotency_scope = ANY(${keys.map((k) => k.scope)}::text[])`;
}

/**
 * The batch's new transfers and its changed ones, a part of the batch's one write statement. A key taken meanwhile by
 * another process is skipped (`ON CONFLICT`), and a transfer changed outside its products' locks
 * is not written: either way the statement fails with SR001 (`stockroom_fence`) and the batch is
 * redone on fresh rows.
 */
export function writeTransfers(tx: Executor, created: TransferRow[], changed: TransferRow[]): WritePart {
  const ctes = [
    tx`t_new AS (
      INSERT INTO transfers (id, from_location_id, to_location_id, status, items, idempotency_scope, idempotency_key, request_hash)
      SELECT u.id, u.from_id, u.to_id, u.status, u.items::jsonb, u.scope, u.key, u.hash
      FROM unnest(${created.map((r) => r.id)}::uuid[], ${created.map((r) => r.fromLocationId)}::uuid[], ${created.map((r) => r.toLocationId)}::uuid[],
                  ${created.map((r) => r.status)}::text[], ${created.map((r) => JSON.stringify(r.items))}::text[],
                  ${created.map((r) => r.scope)}::text[], ${created.map((r) => r.key)}::text[], ${created.map((r) => r.requestHash)}::text[])
        AS u(id, from_id, to_id, status, items, scope, key, hash)
      ON CONFLICT (idempotency_scope, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
      RETURNING 1)`,
    tx`t_upd AS (
      UPDATE transfers t SET status = u.status, items = u.items::jsonb, updated_at = now()
      FROM unnest(${changed.map((r) => r.id)}::uuid[], ${changed.map((r) => r.status)}::text[], ${changed.map((r) => JSON.stringify(r.items))}::text[])
        AS u(id, status, items)
      WHERE t.id = ANY(${changed.map((r) => r.id)}::uuid[]) AND t.id = u.id AND t.status = 'in_transit'
      RETURNING 1)`,
  ];
  return { ctes, checks: [tx`stockroom_fence(${created.length + changed.length}, (SELECT count(*)::int FROM t_new) + (SELECT count(*)::int FROM t_upd))`] };
}
