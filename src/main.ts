import { loadConfig, poolOptions } from './config.ts';
import { openDatabase } from './db/open.ts';
import { toError } from './lib/errors.ts';
import { serveOptions } from './http/server.ts';
import { resolveTokens } from './http/tokens.ts';
import { createLogger } from './lib/logger.ts';
import { buildService } from './service.ts';

/** Composition root: config → database → services → HTTP; then signals and the shutdown order. */
const config = loadConfig();
const logger = await createLogger(config.logLevel);

/**
 * Crash-only: an error that nothing was waiting for means some piece of work is in a state this
 * process can no longer vouch for. Everything accepted is already durable and resumable, so the
 * safe move is to say what happened and exit non-zero for the supervisor to restart us (the
 * embedded PostgreSQL keeps running and is adopted by the next start).
 */
const fatal = (kind: string) => (error: unknown) => {
  logger.fatal({ err: toError(error), kind }, 'fatal: exiting so that a supervisor restarts the process');
  process.exit(70);
};
process.on('uncaughtException', fatal('uncaughtException'));
process.on('unhandledRejection', fatal('unhandledRejection'));
const { database, embedded } = await openDatabase(
  { databaseUrl: config.databaseUrl, dataDir: config.dataDir, pool: poolOptions(config) },
  (message) => logger.info(message),
);
const tokens = await resolveTokens(config, (message) => console.log(message));
const service = await buildService(config, database, tokens, logger);
await service.start();

const app = service.app.listen(serveOptions(config));
const server = app.server!;
logger.info({ url: `http://${config.host}:${server.port}`, database: embedded ? 'embedded' : 'DATABASE_URL', node: service.node.nodeId }, 'listening');
console.log(`API docs: http://localhost:${server.port}/swagger`);

/**
 * Shutdown, within SHUTDOWN_TIMEOUT_MS: stop taking requests and let those under way finish, end
 * event streams, stop the scheduler, let payments and stock batches under way finish, hand back
 * leases, close the database, stop the embedded Postgres. A second signal exits at once. Either
 * way nothing accepted is lost: every accepted order is already in the database.
 */
let stopping = false;
async function shutdown(signal: string) {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  const deadline = Date.now() + config.shutdownTimeoutMs;
  const hardStop = setTimeout(() => {
    logger.error('shutdown did not finish in time: exiting');
    process.exit(1);
  }, config.shutdownTimeoutMs + 3000);
  logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
  try {
    const started = Date.now();
    // Stop taking connections, then end the event streams: they never finish by themselves, and the
    // server waits for every open request. Their clients reconnect and resume with Last-Event-ID.
    const drained = server.stop().then(() => true);
    service.services.events.close();
    if (!(await Promise.race([drained, Bun.sleep(Math.max(0, deadline - Date.now())).then(() => false)]))) await server.stop(true);
    logger.info({ ms: Date.now() - started }, 'HTTP server stopped');
    await service.stop(Math.max(0, deadline - Date.now()));
    logger.info({ ms: Date.now() - started }, 'work under way finished');
    await database.close();
    await embedded?.stop();
    clearTimeout(hardStop);
    logger.info('stopped');
    process.exit(0);
  } catch (error) {
    logger.error({ err: toError(error) }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
