import { connect, type ConnectOptions, type Database } from './client.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.ts';
import { migrate } from './migrate.ts';

export type OpenedDatabase = { database: Database; embedded: EmbeddedPostgres | undefined };
export type DatabaseServer = { url: string; embedded: EmbeddedPostgres | undefined };

/** `DATABASE_URL` when given; otherwise the embedded Postgres in the data directory (started, or adopted). */
export async function startDatabaseServer(
  options: { databaseUrl: string | undefined; dataDir: string },
  log: (message: string) => void,
): Promise<DatabaseServer> {
  if (options.databaseUrl) return { url: options.databaseUrl, embedded: undefined };
  const embedded = await startEmbeddedPostgres(options.dataDir, log);
  return { url: embedded.url, embedded };
}

/**
 * A pool on the server. Pending migrations are applied before anything else touches the
 * database, unless `migrations` is false: a worker process, whose primary migrated before it
 * started any worker (src/cluster.ts).
 */
export async function openPool(
  server: DatabaseServer,
  pool: ConnectOptions,
  log: (message: string) => void,
  { migrations = true }: { migrations?: boolean } = {},
): Promise<OpenedDatabase> {
  const database = connect(server.url, pool);
  try {
    if (migrations) await migrate(database.sql, { log });
  } catch (error) {
    await database.close();
    await server.embedded?.stop();
    throw error;
  }
  return { database, embedded: server.embedded };
}

export async function openDatabase(
  options: { databaseUrl: string | undefined; dataDir: string; pool: ConnectOptions },
  log: (message: string) => void,
): Promise<OpenedDatabase> {
  return openPool(await startDatabaseServer(options, log), options.pool, log);
}
