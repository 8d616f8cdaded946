import { isoSql, type Executor } from '../../db/client.ts';

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
 * Ends a run and, in the same statement, writes its outbox record (`syncRun`, format 2 of
 * records.ts): readers (webhooks' `warehouse.sync.completed`) see the run exactly when it is
 * recorded as finished, never one without the other.
 */
export async function finishSyncRun(sql: Executor, run: Pick<SyncRunRow, 'id' | 'status' | 'itemsChecked' | 'itemsAdjusted' | 'errors'>) {
  const [row] = await sql<SyncRunRow[]>`
    WITH r AS (
      UPDATE sync_runs SET status = ${run.status}, finished_at = now(), items_checked = ${run.itemsChecked},
        items_adjusted = ${run.itemsAdjusted}, errors = ${JSON.stringify(run.errors)}::jsonb
      WHERE id = ${run.id} RETURNING *
    ), e AS (
      INSERT INTO events (changes)
      SELECT jsonb_build_object('v', 2, 'syncRun', jsonb_build_object(
        'id', id, 'status', status, 'trigger', trigger, 'startedAt', ${sql.unsafe(isoSql('started_at'))},
        'finishedAt', ${sql.unsafe(isoSql('finished_at'))}, 'itemsChecked', items_checked, 'itemsAdjusted', items_adjusted, 'errors', errors))
      FROM r
    )
    SELECT ${columns(sql)} FROM r`;
  return row!;
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

/** Products by SKU, case-insensitively (archived ones too: their stock is physical all the same). */
export function productsBySku(sql: Executor, skus: string[]) {
  return sql<CatalogEntry[]>`
    SELECT id, sku FROM products WHERE lower(sku) = ANY(${skus.map((s) => s.toLowerCase())}::text[])`;
}

/** The catalog's physical counts (sold but unshipped stock is still there), for the simulated warehouse to learn new products from. */
export function catalogCounts(sql: Executor) {
  return sql<{ sku: string; onHand: number }[]>`
    SELECT p.sku, l.on_hand + l.awaiting_shipment AS "onHand" FROM products p JOIN inventory_levels l ON l.product_id = p.id`;
}
