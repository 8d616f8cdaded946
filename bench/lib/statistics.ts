import type { Executor } from '../../src/db/client.ts';

/** One table's analyses as PostgreSQL counts them (manual and autovacuum's). */
type Counts = { table: string; rows: number; analyses: number; analysedRows: number };

/** What a scenario's tables looked like to the planner: analysed during the run or not, and how big. */
export type TableStatistics = { table: string; rows: number; analysesDuringRun: number; analysedRows: number };

/** Tables a scenario fills; a plan read off stale statistics of these is a plan for the wrong table. */
const WATCHED = ['orders', 'order_logs', 'stock_movements', 'events', 'inventory_levels', 'webhook_deliveries'];

export async function tableCounts(sql: Executor): Promise<Counts[]> {
  return sql<Counts[]>`
    SELECT s.relname AS table, s.n_live_tup::int AS rows, (s.analyze_count + s.autoanalyze_count)::int AS analyses, c.reltuples::int AS "analysedRows"
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.relname = ANY(${WATCHED}) ORDER BY s.relname`;
}

export function analysesBetween(before: Counts[], after: Counts[]): TableStatistics[] {
  const start = new Map(before.map((c) => [c.table, c.analyses]));
  return after.map((c) => ({ table: c.table, rows: c.rows, analysesDuringRun: c.analyses - (start.get(c.table) ?? 0), analysedRows: c.analysedRows }));
}

/**
 * One line per scenario for the report: each table that holds rows, how often it was analysed
 * during the scenario, and a warning for one whose statistics describe less than half of its rows.
 */
export function describeStatistics(tables: TableStatistics[]): string {
  const filled = tables.filter((t) => t.rows > 0);
  if (filled.length === 0) return 'no rows';
  return filled
    .map((t) => {
      const stale = t.rows >= 1000 && t.analysedRows * 2 < t.rows ? ` (BEHIND: ${t.analysedRows < 0 ? 'never analysed' : `statistics of ${t.analysedRows} rows`})` : '';
      return `${t.table} ${t.analysesDuringRun}×${stale}`;
    })
    .join(', ');
}
