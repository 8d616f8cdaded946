import { HARD_STOP_GRACE_MS, openNodeDatabase, placeOf, watchPrimary, Workers } from './cluster.ts';
import { loadConfig } from './config.ts';
import { toError } from './lib/errors.ts';
import { serveOptions } from './http/server.ts';
import { resolveTokens } from './http/tokens.ts';
import { createLogger } from './lib/logger.ts';
import { resolveNodeId } from './modules/nodes/nodes.ts';
import { buildService } from './service.ts';

/** Composition root: config → database → services → HTTP → workers (WORKERS > 1); then signals and the shutdown order. */
const config = loadConfig();
const place = placeOf(config);
// Resolved here rather than in buildService, so that every line this process logs says who speaks.
const nodeId = resolveNodeId(config.nodeId, config.dataDir);
const logger = (await createLogger(config.logLevel)).child({ node: nodeId });

/**
 * Crash-only: an error that nothing was waiting for means some piece of work is in a state this
 * process can no longer vouch for. Everything accepted is already durable and resumable, so the
 * safe move is to say what happened and exit non-zero for the supervisor to restart us (the
 * embedded PostgreSQL keeps running and is adopted by the next start; a worker's supervisor is
 * its primary, and a primary's workers stop when it is gone).
 */
const fatal = (kind: string) => (error: unknown) => {
  logger.fatal({ err: toError(error), kind }, 'fatal: exiting so that a supervisor restarts the process');
  process.exit(70);
};
process.on('uncaughtException', fatal('uncaughtException'));
process.on('unhandledRejection', fatal('unhandledRejection'));

let stopping = false;
const { database, embedded, poolMax } = await openNodeDatabase(config, place, (message) => logger.info(message));
const tokens = await resolveTokens(config, (message) => console.log(message));
const service = await buildService({ ...config, nodeId }, database, tokens, logger);
await service.start();

const app = service.app.listen(serveOptions(config));
const server = app.server!;
const workers =
  place.kind === 'primary' && place.workers > 0
    ? Workers.start({ count: place.workers, nodeId, port: server.port!, databaseUrl: database.url, poolMax, logger })
    : undefined;
logger.info({ url: `http://${config.host}:${server.port}`, database: place.kind === 'worker' ? "the primary's" : embedded ? 'embedded' : 'DATABASE_URL', workers: place.kind === 'primary' ? place.workers : undefined, poolMax }, 'listening');
if (place.kind === 'primary') console.log(`API docs: http://localhost:${server.port}/swagger`);
// A worker outlives its primary by one graceful shutdown at most (one gone while this one started is seen here too).
if (place.kind === 'worker') watchPrimary(() => void (stopping || shutdown('primary gone')));

/**
 * Shutdown: a primary first passes the signal to its workers and waits for their own shutdown
 * (each within SHUTDOWN_TIMEOUT_MS), meanwhile serving alone; then its own, within
 * SHUTDOWN_TIMEOUT_MS: stop taking requests and let those under way finish, end event streams,
 * stop the scheduler, let payments and stock batches under way finish, hand back leases, close
 * the database, stop the embedded Postgres last. A second signal exits at once (workers too).
 * Either way nothing accepted is lost: every accepted order is already in the database.
 */
async function shutdown(signal: 'SIGINT' | 'SIGTERM' | 'primary gone') {
  const forward = signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM';
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting now');
    workers?.signal(forward);
    process.exit(1);
  }
  stopping = true;
  const ownMs = config.shutdownTimeoutMs + HARD_STOP_GRACE_MS;
  const hardStop = setTimeout(() => {
    logger.error('shutdown did not finish in time: exiting');
    process.exit(1);
  }, workers ? 2 * ownMs : ownMs);
  logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down');
  try {
    const started = Date.now();
    const workersStopped = await workers?.stop(forward, ownMs);
    if (workersStopped) logger.info({ ms: Date.now() - started, clean: workersStopped.clean }, 'workers stopped');
    const deadline = Date.now() + config.shutdownTimeoutMs;
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
    process.exit(workersStopped?.clean === false ? 1 : 0);
  } catch (error) {
    logger.error({ err: toError(error) }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
