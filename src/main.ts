import { loadConfig } from './config.ts';
import { openDatabase } from './db/open.ts';
import { resolveTokens } from './http/tokens.ts';
import { createLogger } from './lib/logger.ts';
import { buildService } from './service.ts';

/** Composition root: config → database → services → HTTP; then signals and the shutdown order. */
const config = loadConfig();
const logger = await createLogger(config.logLevel);
const { database, embedded } = await openDatabase(
  { databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: config.dbPoolMax },
  (message) => logger.info(message),
);
const tokens = await resolveTokens(config, (message) => console.log(message));
const service = await buildService(config, database, tokens, logger);
await service.start();

const server = service.app.listen({
  port: config.port,
  hostname: config.host,
  // Bun's own cut-off sits above ours, so an oversized body normally gets our problem+json 413.
  maxRequestBodySize: config.bodyLimitBytes * 2,
});
logger.info({ url: `http://${config.host}:${server.server?.port}`, database: embedded ? 'embedded' : 'DATABASE_URL' }, 'listening');
console.log(`API docs: http://localhost:${server.server?.port}/swagger`);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'shutting down');
  // Stop taking connections, then end the event streams: they never finish by themselves, and the
  // server waits for every open request. Their clients reconnect and resume with Last-Event-ID.
  const drained = server.server?.stop();
  service.services.events.close();
  await drained;
  await service.stop();
  await database.close();
  await embedded?.stop();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
