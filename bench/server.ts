import { loadConfig, poolOptions } from '../src/config.ts';
import { openDatabase } from '../src/db/open.ts';
import { serveOptions } from '../src/http/server.ts';
import { resolveTokens } from '../src/http/tokens.ts';
import { createLogger } from '../src/lib/logger.ts';
import { buildService } from '../src/service.ts';
import { benchRoutes } from './routes/index.ts';

/**
 * The bench's service process: the normal service (`buildService`, same configuration from the
 * environment) plus the bench-only routes under /bench. Never used outside `bun run bench`.
 */
const config = loadConfig();
const logger = await createLogger(config.logLevel);
const { database, embedded } = await openDatabase(
  { databaseUrl: config.databaseUrl, dataDir: config.dataDir, pool: poolOptions(config) },
  (message) => logger.info(message),
);
const tokens = await resolveTokens(config, () => {});
const service = await buildService(config, database, tokens, logger);
await service.start();

const app = service.app.use(benchRoutes(service, database.sql));
const server = app.listen(serveOptions(config));
logger.info({ port: server.server?.port }, 'bench service listening');

let stopping = false;
async function shutdown() {
  if (stopping) process.exit(1);
  stopping = true;
  await server.server?.stop();
  await service.stop();
  await database.close();
  await embedded?.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
