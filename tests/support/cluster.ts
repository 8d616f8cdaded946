import path from 'node:path';
import postgres from 'postgres';
import { connect, type Database } from '../../src/db/client.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';

/**
 * The test run's Postgres: `DATABASE_URL` when set (it needs CREATEDB), otherwise an embedded
 * server under `.test-data/`. Every test file gets its own database, cloned from a migrated
 * template, so files never see each other's rows.
 */
const TEMPLATE = 'stockroom_test_template';
let embedded: EmbeddedPostgres | undefined;

export function serverUrl(): string {
  const url = process.env.STOCKROOM_TEST_SERVER_URL;
  if (!url) throw new Error('the test cluster is not running (tests/setup.ts is the preload)');
  return url;
}

export function databaseUrl(server: string, name: string): string {
  const url = new URL(server);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function startTestCluster(): Promise<void> {
  if (process.env.STOCKROOM_TEST_SERVER_URL) return;
  let url = process.env.DATABASE_URL;
  if (!url) {
    embedded = await startEmbeddedPostgres(path.resolve(import.meta.dir, '../../.test-data'));
    url = embedded.url;
  }
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${TEMPLATE} WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE ${TEMPLATE}`);
    if (embedded) {
      // Databases of earlier runs that were killed before they could clean up.
      const stale = await admin<{ datname: string }[]>`SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'`;
      for (const { datname } of stale) await admin.unsafe(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
  const template = connect(databaseUrl(url, TEMPLATE), { max: 2 });
  await migrate(template.sql);
  await template.close();
  process.env.STOCKROOM_TEST_SERVER_URL = url;
}

export async function stopTestCluster(): Promise<void> {
  await embedded?.stop();
}

export type TestDatabase = Database & { name: string; drop(): Promise<void> };

/**
 * A new database for one test file. `upTo` leaves it at an older migration (empty clone of
 * nothing, then migrated to that tag), `tags` with exactly those migrations, for tests of schema
 * changes; `empty` with no migration at all.
 */
export async function freshDatabase(
  options: { upTo?: string; tags?: string[]; empty?: boolean; poolMax?: number } = {},
): Promise<TestDatabase> {
  const server = serverUrl();
  const name = `t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(server, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(options.upTo || options.tags || options.empty ? `CREATE DATABASE ${name}` : `CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
  } finally {
    await admin.end();
  }
  const database = connect(databaseUrl(server, name), { max: options.poolMax ?? 20 });
  if (options.upTo) await migrate(database.sql, { upTo: options.upTo });
  if (options.tags) await migrate(database.sql, { tags: options.tags });
  return {
    ...database,
    name,
    async drop() {
      await database.close(1);
      const dropper = postgres(server, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}
