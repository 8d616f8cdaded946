import { at, iso, type Executor } from '../../db/client.ts';
import { PG_BIGINT_MAX } from '../../lib/bounds.ts';
import type { OrderFacts } from '../orders/order-state.ts';

import { orderIdsOf, type EventRow } from './records.ts';

/**
 * Outbox rows after a position, in (transaction id, id) order, limited to transactions older than
 * every one still running: a row is only handed out once nothing can commit before it any more,
 * so a reader never skips an event that commits late. The facts of the orders they name (which
 * records leave out: they never change) come with them.
 */
export async function readEvents(sql: Executor, after: { tx: string; id: string }, limit: number): Promise<EventRow[]> {
  const rows = await sql<EventRow[]>`
    SELECT tx::text, id::text, changes, created_at AS "createdAt" FROM events
    WHERE (tx, id) > (${after.tx}::xid8, ${after.id}::bigint)
      AND tx < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY events.tx, events.id LIMIT ${limit}`;
  const ids = [...new Set(rows.flatMap(orderIdsOf))];
  if (ids.length === 0) return rows;
  const facts = new Map((await orderFacts(sql, ids)).map((f) => [f.id, { ...f, createdAt: iso(f.createdAt) }]));
  for (const row of rows) row.facts = facts;
  return rows;
}

function orderFacts(sql: Executor, ids: string[]) {
  return sql<OrderFacts[]>`
    SELECT id, customer_id AS "customerId", items, total::text AS total, created_at AS "createdAt" FROM orders WHERE id = ANY(${ids}::uuid[])`;
}

/** Outbox rows (texts from `outboxText`), one per record, in the caller's transaction. */
export async function insertEventRecords(tx: Executor, records: string[]): Promise<void> {
  if (records.length === 0) return;
  await tx`INSERT INTO events (changes) SELECT r::json FROM unnest(${records}::text[]) AS u(r)`;
}

/** SQL for the transaction part of the position "now": everything from transactions still running or yet to come is after it. */
export const positionTxNow = (sql: Executor) => sql`(pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1)`;

/** The position "now" (past every row of that transaction). */
export async function currentPosition(sql: Executor): Promise<{ tx: string; id: string }> {
  const [row] = await sql<{ tx: string }[]>`SELECT ${positionTxNow(sql)}::text AS tx`;
  return { tx: row!.tx, id: String(PG_BIGINT_MAX) };
}

/** The customer of each order (for customer tokens' streams, until order events carry it). */
export function orderCustomers(sql: Executor, orderIds: string[]) {
  return sql<{ id: string; customerId: string }[]>`SELECT id, customer_id AS "customerId" FROM orders WHERE id = ANY(${orderIds}::uuid[])`;
}

/**
 * Outbox rows older than the retention go, a capped batch at a time. A stream that resumes from
 * an id older than that starts at the oldest event still kept. With `holdMaxMs`, a row that a
 * webhook subscription has not taken yet (its cursor is not past it) stays until it is that old:
 * events are kept until every subscription has them, but a subscription disabled for weeks does
 * not keep the outbox growing for ever.
 */
export async function pruneEvents(sql: Executor, options: { olderThanMs: number; holdMaxMs?: number; limit: number; asOf?: Date }): Promise<number> {
  const now = at(sql, options.asOf);
  const held =
    options.holdMaxMs === undefined
      ? sql``
      : sql`AND (e.created_at < ${now} - ${options.holdMaxMs} * interval '1 millisecond'
                 OR NOT EXISTS (SELECT 1 FROM webhooks w WHERE (e.tx, e.id) >= (w.cursor_tx, w.cursor_row)))`;
  const rows = await sql`
    DELETE FROM events WHERE id IN (
      SELECT id FROM events e WHERE e.created_at < ${now} - ${options.olderThanMs} * interval '1 millisecond' ${held}
      ORDER BY id LIMIT ${options.limit})
    RETURNING 1`;
  return rows.length;
}
