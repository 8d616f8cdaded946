import type { Sql } from '../../src/db/client.ts';

/**
 * A cheap digest of every row of every table: equal before and after a request means the request
 * wrote nothing. Only meaningful while nothing else writes (periodic jobs quiet, no order in flight).
 */
export async function fingerprint(sql: Sql): Promise<Record<string, string>> {
  const tables = await sql<{ name: string }[]>`
    SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) AS name FROM information_schema.tables
    WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`;
  const union = tables.map(({ name }) => `SELECT '${name}' AS t, count(*) || ':' || coalesce(sum(hashtext(x::text)), 0) AS digest FROM ${name} x`).join(' UNION ALL ');
  const rows = await sql.unsafe<{ t: string; digest: string }[]>(union);
  return Object.fromEntries(rows.map((r) => [r.t, r.digest]));
}
