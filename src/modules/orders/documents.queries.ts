import type { WritePart } from '../../actors/stock.queries.ts';
import { iso, type Executor } from '../../db/client.ts';
import type { RefundStatus } from '../../db/schema/fulfilments.ts';
import type { Fulfilment, Return } from './after-sale.models.ts';

/** An order's fulfilments and returns, oldest first. */
export type Documents = { fulfilments: Fulfilment[]; returns: Return[] };
export const noDocuments = (): Documents => ({ fulfilments: [], returns: [] });

/** The caller's Idempotency-Key, in its credential's scope, with the hash of the request it came with. */
export type Idempotency = { scope: string; key: string; hash: string };

type ReturnRow = Omit<Return, 'refund'> & { refundStatus: RefundStatus | null; refundAmount: string | null; refundReference: string | null };

const returnColumns = (sql: Executor) => sql`
  id, order_id AS "orderId", location_id AS "locationId", items, refund_status AS "refundStatus", refund_amount::text AS "refundAmount",
  refund_reference AS "refundReference", created_at AS "createdAt"`;
const fulfilmentColumns = (sql: Executor) => sql`id, order_id AS "orderId", location_id AS "locationId", items, tracking_number AS "trackingNumber", created_at AS "createdAt"`;

const fulfilmentOf = (row: Fulfilment): Fulfilment => ({ ...row, createdAt: iso(row.createdAt) });
export function returnOf({ refundStatus, refundAmount, refundReference, ...row }: ReturnRow): Return {
  return { ...row, refund: refundStatus === null ? null : { status: refundStatus, amount: refundAmount!, reference: refundReference }, createdAt: iso(row.createdAt) };
}

/**
 * An order's documents as two JSON columns of the statement that reads the order (`o`): one
 * snapshot, so that an order and its returns' refunds never disagree in one answer.
 */
export const documentColumns = (sql: Executor) => sql`
  (SELECT coalesce(json_agg(json_build_object('id', f.id, 'orderId', f.order_id, 'locationId', f.location_id, 'items', f.items,
                                              'trackingNumber', f.tracking_number, 'createdAt', f.created_at) ORDER BY f.id), '[]')
   FROM fulfilments f WHERE f.order_id = o.id) AS fulfilments,
  (SELECT coalesce(json_agg(json_build_object('id', r.id, 'orderId', r.order_id, 'locationId', r.location_id, 'items', r.items,
                                              'refund', CASE WHEN r.refund_status IS NULL THEN NULL
                                                        ELSE json_build_object('status', r.refund_status, 'amount', r.refund_amount::text, 'reference', r.refund_reference) END,
                                              'createdAt', r.created_at) ORDER BY r.id), '[]')
   FROM returns r WHERE r.order_id = o.id) AS returns`;

/** The documents as `documentColumns` read them, their times as the API writes times. */
export function documentsOf(row: Documents): Documents {
  return { fulfilments: row.fulfilments.map(fulfilmentOf), returns: row.returns.map((r) => ({ ...r, createdAt: iso(r.createdAt) })) };
}

/** The documents of these orders, by order id (an order without any is absent). */
export async function readDocuments(sql: Executor, orderIds: string[]): Promise<Map<string, Documents>> {
  const byOrder = new Map<string, Documents>();
  if (orderIds.length === 0) return byOrder;
  const [fulfilments, returns] = await Promise.all([
    sql<Fulfilment[]>`SELECT ${fulfilmentColumns(sql)} FROM fulfilments WHERE order_id = ANY(${orderIds}::uuid[]) ORDER BY order_id, id`,
    sql<ReturnRow[]>`SELECT ${returnColumns(sql)} FROM returns WHERE order_id = ANY(${orderIds}::uuid[]) ORDER BY order_id, id`,
  ]);
  const of = (orderId: string) => {
    let documents = byOrder.get(orderId);
    if (!documents) byOrder.set(orderId, (documents = noDocuments()));
    return documents;
  };
  for (const row of fulfilments) of(row.orderId).fulfilments.push(fulfilmentOf(row));
  for (const row of returns) of(row.orderId).returns.push(returnOf(row));
  return byOrder;
}

/** A document stored under an Idempotency-Key, with the hash of the request that made it. */
export type Keyed<D> = { scope: string; key: string; requestHash: string; document: D };

const keyed = (sql: Executor, keys: Omit<Idempotency, 'hash'>[]) => sql`
  JOIN unnest(${keys.map((k) => k.scope)}::text[], ${keys.map((k) => k.key)}::text[]) AS k(scope, key)
    ON d.idempotency_scope = k.scope AND d.idempotency_key = k.key
  WHERE d.idempotency_key = ANY(${keys.map((k) => k.key)}::text[])`;

export async function findKeyedFulfilments(sql: Executor, keys: Omit<Idempotency, 'hash'>[]): Promise<Keyed<Fulfilment>[]> {
  if (keys.length === 0) return [];
  const rows = await sql<(Fulfilment & { scope: string; key: string; requestHash: string })[]>`
    SELECT ${fulfilmentColumns(sql)}, d.idempotency_scope AS scope, d.idempotency_key AS key, d.request_hash AS "requestHash"
    FROM fulfilments d ${keyed(sql, keys)}`;
  return rows.map(({ scope, key, requestHash, ...row }) => ({ scope, key, requestHash, document: fulfilmentOf(row) }));
}

export async function findKeyedReturns(sql: Executor, keys: Omit<Idempotency, 'hash'>[]): Promise<Keyed<Return>[]> {
  if (keys.length === 0) return [];
  const rows = await sql<(ReturnRow & { scope: string; key: string; requestHash: string })[]>`
    SELECT ${returnColumns(sql)}, d.idempotency_scope AS scope, d.idempotency_key AS key, d.request_hash AS "requestHash"
    FROM returns d ${keyed(sql, keys)}`;
  return rows.map(({ scope, key, requestHash, ...row }) => ({ scope, key, requestHash, document: returnOf(row) }));
}

export type NewFulfilment = { fulfilment: Fulfilment; idempotency: Idempotency | null };
/** A return to store; with a refund, its key and its first reconcile look (`refundDelayMs`) until the horizon. */
export type NewReturn = { doc: Return; idempotency: Idempotency | null; refundKey: string | null; refundDelayMs: number; horizonMs: number };

/**
 * A batch's fulfilments, a part of its one write statement. A key taken meanwhile by another process is skipped and
 * the statement fails with SR001 (`stockroom_fence`): the batch is redone, and the key is a replay.
 */
export function insertFulfilments(tx: Executor, rows: NewFulfilment[]): WritePart {
  const docs = rows.map((r) => r.fulfilment);
  const cte = tx`
    f_new AS (
      INSERT INTO fulfilments (id, order_id, location_id, items, tracking_number, idempotency_scope, idempotency_key, request_hash)
      SELECT u.id, u.order_id, u.location_id, u.items::jsonb, u.tracking_number, u.scope, u.key, u.hash
      FROM unnest(${docs.map((d) => d.id)}::uuid[], ${docs.map((d) => d.orderId)}::uuid[], ${docs.map((d) => d.locationId)}::uuid[],
                  ${docs.map((d) => JSON.stringify(d.items))}::text[], ${docs.map((d) => d.trackingNumber)}::text[],
                  ${rows.map((r) => r.idempotency?.scope ?? null)}::text[], ${rows.map((r) => r.idempotency?.key ?? null)}::text[],
                  ${rows.map((r) => r.idempotency?.hash ?? null)}::text[])
        AS u(id, order_id, location_id, items, tracking_number, scope, key, hash)
      ON CONFLICT (idempotency_scope, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
      RETURNING 1)`;
  return { ctes: [cte], checks: [tx`stockroom_fence(${rows.length}, (SELECT count(*)::int FROM f_new))`] };
}

/** A batch's returns, a part of its one write statement, fenced on their keys like `insertFulfilments`. */
export function insertReturns(tx: Executor, rows: NewReturn[]): WritePart {
  const docs = rows.map((r) => r.doc);
  const cte = tx`
    r_new AS (
      INSERT INTO returns (id, order_id, location_id, items, refund_status, refund_amount, refund_key, refund_due_at, refund_until,
                           idempotency_scope, idempotency_key, request_hash)
      SELECT u.id, u.order_id, u.location_id, u.items::jsonb, u.refund_status, u.refund_amount::numeric, u.refund_key,
             CASE WHEN u.refund_key IS NULL THEN NULL ELSE now() + u.delay_ms * interval '1 millisecond' END,
             CASE WHEN u.refund_key IS NULL THEN NULL ELSE now() + u.horizon_ms * interval '1 millisecond' END,
             u.scope, u.key, u.hash
      FROM unnest(${docs.map((d) => d.id)}::uuid[], ${docs.map((d) => d.orderId)}::uuid[], ${docs.map((d) => d.locationId)}::uuid[],
                  ${docs.map((d) => JSON.stringify(d.items))}::text[], ${docs.map((d) => d.refund?.status ?? null)}::text[],
                  ${docs.map((d) => d.refund?.amount ?? null)}::text[], ${rows.map((r) => r.refundKey)}::text[],
                  ${rows.map((r) => r.refundDelayMs)}::int[], ${rows.map((r) => r.horizonMs)}::bigint[],
                  ${rows.map((r) => r.idempotency?.scope ?? null)}::text[], ${rows.map((r) => r.idempotency?.key ?? null)}::text[],
                  ${rows.map((r) => r.idempotency?.hash ?? null)}::text[])
        AS u(id, order_id, location_id, items, refund_status, refund_amount, refund_key, delay_ms, horizon_ms, scope, key, hash)
      ON CONFLICT (idempotency_scope, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
      RETURNING 1)`;
  return { ctes: [cte], checks: [tx`stockroom_fence(${rows.length}, (SELECT count(*)::int FROM r_new))`] };
}
