import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema/index.ts';

export type Sql = postgres.Sql;
export type TxSql = postgres.TransactionSql;
/** Query functions take the executor first, so they run alone or inside a caller's transaction. */
export type Executor = Sql | TxSql;
export type Db = PostgresJsDatabase<typeof schema>;
export type DbTx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | DbTx;

export type Database = {
  sql: Sql;
  db: Db;
  url: string;
  close(timeoutSeconds?: number): Promise<void>;
};

export function connect(url: string, options: { max?: number; applicationName?: string } = {}): Database {
  const sql = postgres(url, {
    max: options.max ?? 16,
    idle_timeout: 30,
    connect_timeout: 10,
    onnotice: () => {},
    connection: { TimeZone: 'UTC', application_name: options.applicationName ?? 'stockroom' },
  });
  // drizzle makes timestamps arrive as Postgres text ("2026-01-01 10:00:00.123+00"); see iso().
  // It also replaces the serializers of numeric[] and timestamp[] parameters: pass those as
  // text[] and cast in SQL (`$1::text[]::numeric[]`).
  const db = drizzle({ client: sql, schema });
  return {
    sql,
    db,
    url,
    close: (timeoutSeconds = 5) => sql.end({ timeout: timeoutSeconds }),
  };
}

/** "Now" in SQL: the database clock, unless a test injects a time. */
export const at = (sql: Executor, asOf: Date | undefined) => (asOf ? sql`${asOf.toISOString()}::timestamptz` : sql`now()`);

/** Postgres timestamptz text (UTC session) → ISO-8601. */
export function iso(value: string): string;
export function iso(value: string | null): string | null;
export function iso(value: string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

/** SQLSTATE codes the services branch on. */
export const PgCode = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  lockNotAvailable: '55P03',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
} as const;

/** The SQLSTATE of a Postgres error, also when drizzle wrapped it (`DrizzleQueryError.cause`). */
export function pgCode(error: unknown): string | undefined {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof postgres.PostgresError) return e.code;
  }
  return undefined;
}

export function pgConstraint(error: unknown): string | undefined {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof postgres.PostgresError) return e.constraint_name;
  }
  return undefined;
}
