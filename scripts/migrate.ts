import { loadConfig, poolOptions } from '../src/config.ts';
import { openDatabase } from '../src/db/open.ts';

/** `bun run db:migrate`: applies pending migrations (DATABASE_URL, or the embedded database). */
const config = loadConfig();
const { database, embedded } = await openDatabase(
  { databaseUrl: config.databaseUrl, dataDir: config.dataDir, pool: poolOptions(config, { max: 2 }) },
  (message) => console.log(message),
);
const [row] = await database.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`;
console.log(`${row?.n ?? 0} migrations applied in total`);
await database.close();
await embedded?.stop();
