import { StockActors } from './actors/stock-actors.ts';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import { tableStatisticsJob } from './db/statistics.ts';
import { Authenticator, type Tokens } from './http/auth.ts';
import { createApp, type AppOptions, type AppServices } from './http/app.ts';
import { ClientIp } from './http/client-ip.ts';
import { CustomerTokens } from './http/customer-tokens.ts';
import { RateLimiter } from './http/rate-limit.ts';
import { jobHistoryPruneJob } from './jobs/job-history.ts';
import { Scheduler } from './jobs/scheduler.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import type { Logger } from './lib/logger.ts';
import { ApiKeysService } from './modules/api-keys/api-keys.service.ts';
import { KeyStore } from './modules/api-keys/key-store.ts';
import { Capabilities } from './modules/capabilities.ts';
import { CategoriesService } from './modules/categories/categories.service.ts';
import { createEventsModule } from './modules/events/events.module.ts';
import { InventoryService } from './modules/inventory/inventory.service.ts';
import { createLocationsModule } from './modules/locations/locations.module.ts';
import { createMetrics } from './modules/metrics/metrics.ts';
import { NodeIdentity, resolveNodeId } from './modules/nodes/nodes.ts';
import { createOrdersModule } from './modules/orders/orders.module.ts';
import { HoldKeeper } from './modules/holds/hold-keeper.ts';
import { createHoldsModule } from './modules/holds/holds.module.ts';
import type { PaymentGateway } from './modules/payments/gateway.ts';
import { HttpPaymentGateway } from './modules/payments/http-gateway.ts';
import { Behaviour, SimulatedGateway } from './modules/payments/simulator.ts';
import { ProductsService } from './modules/products/products.service.ts';
import { createTransfersModule } from './modules/transfers/transfers.module.ts';
import type { WarehouseClient } from './modules/warehouse/client.ts';
import { createWarehouseModule } from './modules/warehouse/warehouse.module.ts';
import type { Resolver } from './modules/webhooks/outbound.ts';
import { createWebhooksModule } from './modules/webhooks/webhooks.module.ts';
import pkg from '../package.json' with { type: 'json' };

export type ServiceOptions = {
  clock?: Clock;
  /** Replaces the gateway chosen from the configuration (tests hand in a simulator they control). */
  paymentGateway?: PaymentGateway;
  /** Replaces the warehouse chosen from the configuration. */
  warehouse?: WarehouseClient;
  /** Replaces DNS for webhook deliveries (tests: a name that resolves somewhere else later). */
  resolve?: Resolver;
};

export type Service = Awaited<ReturnType<typeof buildService>>;

/** How often a process records that a key was used (`lastUsedAt`): a minute is exact enough for people. */
const KEY_LAST_USED_EVERY_MS = 60_000;

function paymentGateway(config: Config, clock: Clock): PaymentGateway {
  if (config.paymentUrl) return new HttpPaymentGateway(config.paymentUrl, config.paymentTimeoutMs);
  const settings = { failureRate: config.paymentFailureRate, timeoutRate: config.paymentTimeoutRate, latencyMs: config.paymentLatencyMs };
  return new SimulatedGateway(new Behaviour(settings, clock), config.paymentTimeoutMs, clock);
}

/** Wires the services of one process on an open, migrated database. Nothing runs until `start()`. */
export async function buildService(config: Config, database: Database, tokens: Tokens, logger: Logger, options: ServiceOptions = {}) {
  const { sql } = database;
  const clock = options.clock ?? systemClock;
  const capabilities = await Capabilities.detect(sql);
  const metrics = createMetrics();
  const node = new NodeIdentity(resolveNodeId(config.nodeId, config.dataDir), sql, logger);
  const owner = node.incarnation;
  // Holds are stock the actors keep for carts: their keeper takes part in the actors' batches.
  const holdKeeper = new HoldKeeper(metrics);
  const actors = new StockActors(
    sql,
    {
      maxDepth: config.mailboxMaxDepth,
      allocation: config.allocationStrategy,
      pipelineDepth: config.stockPipelineDepth,
      lane: () => database.lane(),
      keeper: holdKeeper,
    },
    metrics,
    clock,
  );
  // Batches are decided from memory only while no process of an older stock model writes unfenced (nodes.queries.ts).
  node.watchPeers((olderAlive) => actors.allowPipelining(!olderAlive));
  const gateway = options.paymentGateway ?? paymentGateway(config, clock);
  const holds = createHoldsModule({ sql, actors, keeper: holdKeeper, config, logger, metrics });
  const orders = createOrdersModule({ sql, actors, gateway, config, owner, clock, logger, metrics, holds: holdKeeper });
  const locations = createLocationsModule({ sql, config });
  const transfers = createTransfersModule({ sql, actors });
  const warehouse = createWarehouseModule({ sql, actors, config, clock, logger, metrics, client: options.warehouse });
  const events = createEventsModule({ sql, config, capabilities, logger });
  const webhooks = createWebhooksModule({ sql, capabilities, config, clock, owner, logger, metrics, version: pkg.version, resolve: options.resolve });
  const scheduler = new Scheduler(
    sql,
    [
      ...orders.jobs,
      ...events.jobs,
      ...warehouse.jobs,
      ...webhooks.jobs,
      tableStatisticsJob(sql, config.statisticsCron),
      jobHistoryPruneJob(sql, { schedule: config.pruneCron, olderThanMs: config.jobHistoryRetentionMs }),
    ],
    {
      node: owner,
      metrics,
      logger,
      now: () => clock.now(),
      jobTimeoutMs: config.jobTimeoutMs,
      lock: { acquireTimeoutMs: config.dbConnectTimeoutMs, keepAliveMs: Math.max(50, Math.floor(config.dbIdleTransactionTimeoutMs / 3)) },
    },
  );

  // Credentials: API keys in memory (refreshed every API_KEY_REFRESH_MS), customer tokens, rate limits.
  const keyStore = new KeyStore(sql, capabilities, { refreshMs: config.apiKeyRefreshMs, lastUsedEveryMs: KEY_LAST_USED_EVERY_MS, clock, logger });
  const customerTokens = new CustomerTokens({ secret: config.customerJwtSecret, jwksUrl: config.customerJwksUrl, clockSkewSeconds: config.customerJwtClockSkewSeconds });
  const appOptions: AppOptions = {
    access: {
      authenticator: new Authenticator(tokens, keyStore, customerTokens),
      limiter: new RateLimiter(() => clock.now()),
      policies: config.rateLimits,
      clientIp: new ClientIp(config.trustedProxies),
    },
    corsOrigins: config.corsOrigins,
    bodyLimitBytes: config.bodyLimitBytes,
    bodyReadTimeoutMs: config.bodyReadTimeoutMs,
    logger,
    version: pkg.version,
    nodeId: node.nodeId,
    requestTimeoutMs: config.requestTimeoutMs,
    syncRequestTimeoutMs: config.syncRequestTimeoutMs,
  };

  const services: AppServices = {
    ping: (timeoutMs) => database.ping(timeoutMs),
    products: new ProductsService(sql, capabilities),
    categories: new CategoriesService(sql, capabilities),
    inventory: new InventoryService(sql, actors),
    locations: locations.service,
    transfers: transfers.service,
    orders: orders.service,
    holds: holds.service,
    afterSale: orders.afterSale,
    events: events.hub,
    warehouse: warehouse.sync,
    metrics,
    apiKeys: new ApiKeysService(sql, keyStore, capabilities),
    webhooks: webhooks.service,
  };
  const app = createApp(services, appOptions);

  return {
    app,
    services,
    appOptions,
    keyStore,
    capabilities,
    actors,
    orders,
    holds,
    gateway,
    warehouse: warehouse.sync,
    warehouseClient: warehouse.client,
    scheduler,
    metrics,
    node,
    webhooks,
    /** Joins the cluster, resumes what previous runs left, then runs the periodic jobs. */
    async start({ background = true }: { background?: boolean } = {}) {
      await node.register(config.heartbeatMs, config.heartbeatTtlMs);
      await keyStore.start();
      warehouse.start();
      if (!background) return;
      scheduler.start();
      holds.start();
      orders.start();
      webhooks.start();
    },
    /**
     * Stops background work, lets work under way finish (up to SHUTDOWN_TIMEOUT_MS) and hands
     * back leases. Called after the HTTP server stopped taking requests; the caller closes the
     * database afterwards. Whatever is cut short is in the orders table for the next start.
     */
    async stop(timeoutMs = config.shutdownTimeoutMs) {
      warehouse.stop();
      events.stop();
      await keyStore.stop().catch((error: unknown) => logger.warn({ err: error }, 'could not record API key use'));
      await scheduler.stop();
      await holds.stop();
      await webhooks.stop(timeoutMs);
      await orders.stop(timeoutMs);
      actors.close();
      await node.deregister().catch((error: unknown) => logger.warn({ err: error }, 'could not deregister'));
    },
  };
}
