import { HARD_STOP_GRACE_MS, openNodeDatabase, placeOf, watchPrimary, Workers } from '../src/cluster.ts';
import { loadConfig } from '../src/config.ts';
import { serveOptions } from '../src/http/server.ts';
import { resolveTokens } from '../src/http/tokens.ts';
import { createLogger } from '../src/lib/logger.ts';
import { buildService } from '../src/service.ts';
import { frameworkApp } from './routes/framework.ts';
import { benchRoutes } from './routes/index.ts';

/**
 * The bench's service process: the normal service (`buildService`, same configuration from the
 * environment) plus the bench-only routes under /bench, with WORKERS processes as main.ts runs
 * them (src/cluster.ts; this file is the workers' entry too). Never used outside `bun run bench`.
 */
const config = loadConfig();
const place = placeOf(config);
const logger = await createLogger(config.logLevel);
let stopping = false;
const { database, embedded, poolMax } = await openNodeDatabase(config, place, (message) => logger.info(message));
const tokens = await resolveTokens(config, () => {});
const service = await buildService(config, database, tokens, logger);
await service.start();

const app = service.app.use(benchRoutes(service, database.sql));
const server = app.listen(serveOptions(config));
const port = server.server!.port!;
// The framework alone, beside the service (the primary only: it is measured against one process).
const framework =
  place.kind === 'primary' && process.env.BENCH_FRAMEWORK_PORT
    ? frameworkApp().listen({ ...serveOptions(config), port: Number(process.env.BENCH_FRAMEWORK_PORT) })
    : undefined;
const workers =
  place.kind === 'primary' && place.workers > 0
    ? Workers.start({ count: place.workers, nodeId: service.node.nodeId, port, databaseUrl: database.url, poolMax, logger })
    : undefined;
logger.info({ port, node: service.node.nodeId }, 'bench service listening');
if (place.kind === 'worker') watchPrimary(() => void (stopping || shutdown()));

async function shutdown() {
  if (stopping) process.exit(1);
  stopping = true;
  await workers?.stop('SIGTERM', config.shutdownTimeoutMs + HARD_STOP_GRACE_MS);
  await server.server?.stop();
  await framework?.server?.stop();
  await service.stop();
  await database.close();
  await embedded?.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
