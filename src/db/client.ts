import postgres from 'postgres';
import { backoffMs, type Backoff } from '../lib/backoff.ts';
import { DeadlineExceeded, withDeadline } from '../lib/deadline.ts';

export type Sql = postgres.Sql;
export type TxSql = postgres.TransactionSql;
/** Query functions take the executor first, so they run alone or inside a caller's transaction. */
export type Executor = Sql | TxSql;

/** The pool's settings when nothing says otherwise (config.ts takes its defaults from here). */
export const DB_DEFAULTS = { poolMax: 16, statementTimeoutMs: 30_000, idleTransactionTimeoutMs: 5_000, connectTimeoutMs: 3_000 } as const;

/** Dates and times arrive as PostgreSQL's text ("2026-01-01 10:00:00.123+00", see `iso`), not as Date objects. */
const TEXT_TIME_TYPES = [1082, 1083, 1114, 1115, 1182, 1184, 1185, 1231];
/** json and jsonb parameters are sent as the text the caller made (JSON.stringify, cast in SQL), not stringified again. */
const TEXT_JSON_TYPES = [114, 3802];

export type Database = {
  sql: Sql;
  url: string;
  /**
   * Round trip to the server on a connection of its own, so that a busy pool never makes a
   * healthy database look down (and a down one is seen within `timeoutMs`).
   */
  ping(timeoutMs: number): Promise<void>;
  /**
   * A new client of one connection beside the pool, for a stock engine's pipelined batches
   * (src/actors/stock-lane.ts): it never waits for a slot of the pool nor takes one, and its
   * session keeps the stock transactions' plan settings. Each call makes one (each engine holds its
   * own); `close` ends them all.
   */
  lane(): Sql;
  close(timeoutSeconds?: number): Promise<void>;
};

export type ConnectOptions = {
  max?: number;
  applicationName?: string;
  statementTimeoutMs?: number;
  idleTransactionTimeoutMs?: number;
  connectTimeoutMs?: number;
  /**
   * Sees each statement's text and parameters as it is sent, and the connection it goes out on
   * (tests read the plans of what the service sends, and the order of a transaction's statements).
   */
  onStatement?: (text: string, parameters: unknown[], connection: number) => void;
};

/**
 * postgres.js waits up to 20 s between reconnection attempts once a few have failed (3^n / 100 s),
 * and the wait is shared by the whole pool: a database back after an outage would stay unused for
 * that long. A short, capped wait keeps reconnection prompt without hammering.
 */
export const RECONNECT: Backoff = { baseMs: 50, maxMs: 500 };
/** The longest a pool waits before trying to reconnect (tests derive their bounds from it). */
export const RECONNECT_BACKOFF_MAX_MS = RECONNECT.maxMs;
const reconnectBackoffSeconds = (retries: number) => backoffMs(retries, RECONNECT) / 1000;

export function connect(url: string, options: ConnectOptions = {}): Database {
  const sql = client(url, options, options.max ?? DB_DEFAULTS.poolMax);
  let pinger: Sql | undefined;
  const lanes: Sql[] = [];
  return {
    sql,
    url,
    async ping(timeoutMs) {
      pinger ??= postgres(url, { max: 1, idle_timeout: 60, connect_timeout: Math.ceil(timeoutMs / 1000), backoff: reconnectBackoffSeconds, onnotice: () => {} });
      await withDeadline(pinger`SELECT 1`.execute(), timeoutMs, 'the database health check');
    },
    lane() {
      // Cached plans that cannot scan for the whole session: what stock transactions set for themselves (stockSession).
      const lane = client(url, options, 1, { plan_cache_mode: 'force_generic_plan', enable_seqscan: 'off' });
      lanes.push(lane);
      return lane;
    },
    async close(timeoutSeconds = 5) {
      await Promise.all([sql.end({ timeout: timeoutSeconds }), pinger?.end({ timeout: 1 }), ...lanes.map((lane) => lane.end({ timeout: timeoutSeconds }))]);
    },
  };
}

function client(url: string, options: ConnectOptions, max: number, settings: Record<string, string> = {}): Sql {
  const sql = postgres(url, {
    max,
    idle_timeout: 30,
    connect_timeout: Math.ceil((options.connectTimeoutMs ?? DB_DEFAULTS.connectTimeoutMs) / 1000),
    backoff: reconnectBackoffSeconds,
    onnotice: () => {},
    ...(options.onStatement ? { debug: (connection: number, text: string, parameters: unknown[]) => options.onStatement!(text, parameters, connection) } : {}),
    connection: {
      // A plan cached for a table that was empty (or analysed while empty) stays a sequential scan
      // as the table grows: statements are planned for their parameters and the table as it is
      // now. The stock transactions opt back into cached plans that cannot scan (stock-engine.ts).
      plan_cache_mode: 'force_custom_plan',
      TimeZone: 'UTC',
      application_name: options.applicationName ?? 'stockroom',
      statement_timeout: options.statementTimeoutMs ?? DB_DEFAULTS.statementTimeoutMs,
      idle_in_transaction_session_timeout: options.idleTransactionTimeoutMs ?? DB_DEFAULTS.idleTransactionTimeoutMs,
      ...settings,
    },
  });
  const asText = (value: unknown) => value;
  for (const type of TEXT_TIME_TYPES) {
    sql.options.parsers[type] = asText;
    sql.options.serializers[type] = asText;
  }
  for (const type of TEXT_JSON_TYPES) sql.options.serializers[type] = asText;
  return sql;
}

/** "Now" in SQL: the database clock, unless a test injects a time. */
export const at = (sql: Executor, asOf: Date | undefined) => (asOf ? sql`${asOf.toISOString()}::timestamptz` : sql`now()`);

/** A timestamptz column as ISO-8601 text in SQL (`…Z`), for JSON built by a statement (outbox records). */
export const isoSql = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

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

/** Connection-level failures, by postgres.js code or the socket's errno. */
const UNREACHABLE = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECTION_ENDED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * SQLSTATEs that say the server cannot serve us right now rather than that the request was wrong:
 * shutting down or starting up (57P01-57P03), too many connections, a statement cut off by its
 * timeout or a session ended for idling in a transaction.
 */
const UNAVAILABLE_SQLSTATE = new Set(['57P01', '57P02', '57P03', '53300', '57014', '25P03', '57P05']);

/** True when the database could not be reached or could not answer in time: a 503, never a 500. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof DeadlineExceeded) return true;
    if (e instanceof postgres.PostgresError) return e.code.startsWith('08') || UNAVAILABLE_SQLSTATE.has(e.code);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE.has(code)) return true;
  }
  return false;
}
