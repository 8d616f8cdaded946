import type { Job } from '../jobs/job.ts';
import type { Executor, Sql } from './client.ts';

/**
 * Statistics that follow the tables. Autovacuum analyses a table when enough of it changed, but
 * only when it comes round (once a minute per database by default): a table that goes from empty
 * to a hundred thousand rows in that minute is planned all along as if it were empty. This looks
 * every few seconds and analyses the tables that at least doubled since they were last analysed
 * (or were never analysed) and hold a few pages' worth of rows: a table growing from nothing to
 * N rows is analysed about log2(N / MIN_ROWS) times, and autovacuum keeps up from there (its
 * per-table settings are in drizzle/0005_statistics.sql).
 */
const MIN_ROWS = 1_000;

/** Tables of the current schema that grew past what their statistics say (quoted, ready for ANALYZE). */
export function grownTables(sql: Executor, minRows = MIN_ROWS) {
  return sql<{ name: string; rows: number; analysedRows: number }[]>`
    SELECT quote_ident(s.relname) AS name, s.n_live_tup::int AS rows, c.reltuples::int AS "analysedRows"
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.schemaname = current_schema() AND s.n_live_tup >= ${minRows} AND (c.reltuples < 0 OR s.n_live_tup >= 2 * c.reltuples)
    ORDER BY s.relname`;
}

/**
 * Analyses what grew. A role that may not analyse a table gets a warning from PostgreSQL, not an
 * error: the table is then left to autovacuum. Returns the tables analysed.
 */
export async function analyseGrownTables(sql: Sql, minRows = MIN_ROWS): Promise<string[]> {
  const tables = (await grownTables(sql, minRows)).map((t) => t.name);
  if (tables.length > 0) await sql.unsafe(`ANALYZE ${tables.join(', ')}`);
  return tables;
}

/**
 * After migrations: every table analysed once they changed the schema, otherwise those never
 * analysed (a table with statistics keeps them; the job above and autovacuum keep them current).
 */
export async function analyseAfterMigrations(sql: Sql, migrated: boolean): Promise<void> {
  if (migrated) {
    await sql`ANALYZE`;
    return;
  }
  const never = await sql<{ name: string }[]>`
    SELECT quote_ident(c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.reltuples < 0`;
  if (never.length > 0) await sql.unsafe(`ANALYZE ${never.map((t) => t.name).join(', ')}`);
}

/** The periodic look (STATISTICS_CRON): one process at a time, like every job. */
export const tableStatisticsJob = (sql: Sql, schedule: string): Job => ({
  name: 'table-statistics',
  schedule,
  run: async () => ({ analysed: (await analyseGrownTables(sql)).length }),
});
