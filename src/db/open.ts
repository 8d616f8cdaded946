import { connect, type ConnectOptions, type Database } from './client.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.ts';
import { migrate } from './migrate.ts';

export type OpenedDatabase = { database: Database; embedded: EmbeddedPostgres | undefined };

/**
 * `DATABASE_URL` when given; otherwise the embedded Postgres in the data directory. Pending
 * migrations are applied before anything else touches the database.
 */
export async function openDatabase(
  options: { databaseUrl: string | undefined; dataDir: string; pool: ConnectOptions },
  log: (message: string) => void,
): Promise<OpenedDatabase> {
  const embedded = options.databaseUrl ? undefined : await startEmbeddedPostgres(options.dataDir, log);
  const database = connect(options.databaseUrl ?? embedded!.url, options.pool);
  try {
    await migrate(database.sql, { log });
  } catch (error) {
    await database.close();
    await embedded?.stop();
    throw error;
  }
  return { database, embedded };
}
