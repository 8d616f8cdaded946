import { iso, type Executor, type Sql } from '../../db/client.ts';
import { outboxText } from '../../db/outbox.ts';
import type { StockCount } from './client.ts';
import { insertEventRecords } from '../events/events.queries.ts';

export type SyncError = { sku: string | null; message: string };
export type SyncRunRow = {
  id: string;
  status: 'running' | 'succeeded' | 'partial' | 'failed';
  trigger: string;
  startedAt: string;
  finishedAt: string | null;
  itemsChecked: number;
  itemsAdjusted: number;
  errors: SyncError[];
};

const columns = (sql: Executor) => sql`
  id, status, trigger, started_at AS "startedAt", finished_at AS "finishedAt",
  items_checked AS "itemsChecked", items_adjusted AS "itemsAdjusted", errors`;

export async function startSyncRun(sql: Executor, id: string, trigger: string): Promise<SyncRunRow> {
  const [row] = await sql<SyncRunRow[]>`INSERT INTO sync_runs (id, status, trigger) VALUES (${id}, 'running', ${trigger}) RETURNING ${columns(sql)}`;
  return row!;
}


/**
 * Ends a run and, in the same transaction, writes its outbox record (`syncRun`): readers
 * (webhooks' `warehouse.sync.completed`) see the run exactly when it is recorded as finished,
 * never one without the other.
 */
export async function finishSyncRun(sql: Sql, run: Pick<SyncRunRow, 'id' | 'status' | 'itemsChecked' | 'itemsAdjusted' | 'errors'>): Promise<SyncRunRow> {
  return sql.begin(async (tx) => {
    const [row] = await tx<SyncRunRow[]>`
      UPDATE sync_runs SET status = ${run.status}, finished_at = now(), items_checked = ${run.itemsChecked},
        items_adjusted = ${run.itemsAdjusted}, errors = ${JSON.stringify(run.errors)}::jsonb
      WHERE id = ${run.id} RETURNING ${columns(tx)}`;
    await insertEventRecords(tx, [outboxText({ syncRun: { ...row!, startedAt: iso(row!.startedAt), finishedAt: iso(row!.finishedAt) } })!]);
    return row!;
  });
}

/** Newest first; `beforeId` (runs have time-ordered ids) is the cursor. */
export function listSyncRuns(sql: Executor, beforeId: string | undefined, limit: number) {
  return sql<SyncRunRow[]>`
    SELECT ${columns(sql)} FROM sync_runs ${beforeId ? sql`WHERE id < ${beforeId}` : sql``}
    ORDER BY id DESC LIMIT ${limit}`;
}

/** Runs left `running` by a process that died mid-sync. */
export async function abandonStaleRuns(sql: Executor, olderThanMs: number): Promise<number> {
  const rows = await sql`
    UPDATE sync_runs SET status = 'failed', finished_at = now(),
      errors = errors || jsonb_build_array(jsonb_build_object('sku', null, 'message', 'the run was interrupted (process stopped)'))
    WHERE status = 'running' AND started_at < now() - ${olderThanMs} * interval '1 millisecond'
    RETURNING 1`;
  return rows.length;
}

export type CatalogEntry = { id: string; sku: string };

/** The locations a count may name, by code (deleted ones are not counted any more). */
export function liveLocations(sql: Executor) {
  return sql<{ id: string; code: string }[]>`SELECT id, code FROM locations WHERE deleted_at IS NULL`;
}

/** Products by SKU, case-insensitively (archived ones too: their stock is physical all the same). */
export function productsBySku(sql: Executor, skus: string[]) {
  return sql<CatalogEntry[]>`
    SELECT id, sku FROM products WHERE lower(sku) = ANY(${skus.map((s) => s.toLowerCase())}::text[])`;
}

/**
 * The catalog's physical counts per location (sold but unshipped stock is still there), for the
 * simulated warehouse to learn new products from: the default location's without a location code.
 */
export function catalogCounts(sql: Executor) {
  return sql<StockCount[]>`
    SELECT p.sku, l.on_hand + l.awaiting_shipment AS "onHand", CASE WHEN loc.is_default THEN NULL ELSE loc.code END AS location
    FROM products p JOIN location_levels l ON l.product_id = p.id JOIN locations loc ON loc.id = l.location_id
    WHERE loc.deleted_at IS NULL`.then((rows) => rows.map(({ location, ...count }) => (location === null ? count : { ...count, location })));
}
