import { StockActors } from './actors/stock-actors.ts';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import { Authenticator, type Tokens } from './http/auth.ts';
import { createApp, type AppOptions, type AppServices } from './http/app.ts';
import { ClientIp } from './http/client-ip.ts';
import { CustomerTokens } from './http/customer-tokens.ts';
import { RateLimiter } from './http/rate-limit.ts';
import { outboxPruneJob } from './jobs/prune.ts';
import { Scheduler } from './jobs/scheduler.ts';
import { warehouseSyncJob } from './jobs/warehouse-sync.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import type { Logger } from './lib/logger.ts';
import { ApiKeysService } from './modules/api-keys/api-keys.service.ts';
import { KeyStore } from './modules/api-keys/key-store.ts';
import { Capabilities } from './modules/capabilities.ts';
import { CategoriesService } from './modules/categories/categories.service.ts';
import { EventHub } from './modules/events/event-hub.ts';
import { InventoryService } from './modules/inventory/inventory.service.ts';
import { createMetrics } from './modules/metrics/metrics.ts';
import { NodeIdentity, resolveNodeId } from './modules/nodes/nodes.ts';
import { createOrdersModule } from './modules/orders/orders.module.ts';
import type { PaymentGateway } from './modules/payments/gateway.ts';
import { HttpPaymentGateway } from './modules/payments/http-gateway.ts';
import { Behaviour, SimulatedGateway } from './modules/payments/simulator.ts';
import { ProductsService } from './modules/products/products.service.ts';
import type { WarehouseClient } from './modules/warehouse/client.ts';
import { HttpWarehouseClient } from './modules/warehouse/http-client.ts';
import { SimulatedWarehouse, WarehouseStock } from './modules/warehouse/simulator.ts';
import { catalogCounts } from './modules/warehouse/warehouse.queries.ts';
import { WarehouseSync } from './modules/warehouse/warehouse.service.ts';
import { pendingCount } from './modules/webhooks/deliveries.queries.ts';
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

function paymentGateway(config: Config, clock: Clock): PaymentGateway {
  if (config.paymentUrl) return new HttpPaymentGateway(config.paymentUrl, config.paymentTimeoutMs);
  const settings = { failureRate: config.paymentFailureRate, timeoutRate: config.paymentTimeoutRate, latencyMs: config.paymentLatencyMs };
  return new SimulatedGateway(new Behaviour(settings, clock), config.paymentTimeoutMs, clock);
}

function warehouseClient(config: Config, database: Database, clock: Clock): WarehouseClient {
  if (config.warehouseUrl) return new HttpWarehouseClient(config.warehouseUrl, config.warehouseTimeoutMs);
  return new SimulatedWarehouse(new WarehouseStock(clock), { timeoutMs: config.warehouseTimeoutMs, catalog: () => catalogCounts(database.sql) });
}

/** Wires the services of one process on an open, migrated database. Nothing runs until `start()`. */
export async function buildService(config: Config, database: Database, tokens: Tokens, logger: Logger, options: ServiceOptions = {}) {
  const { sql, db } = database;
  const clock = options.clock ?? systemClock;
  const capabilities = await Capabilities.detect(db);
  const node = new NodeIdentity(resolveNodeId(config.nodeId, config.dataDir), sql, logger);
  // Two stock transactions at once: with four, many products' work went out in smaller batches
  // (bench many-skus 3.7k/s against 4.1-4.4k/s with two; hot-sku unchanged; one was no better).
  const actors = new StockActors(sql, { maxDepth: config.mailboxMaxDepth, maxBatch: 1000, maxConcurrent: 2, idleMs: 60_000 }, clock);
  const gateway = options.paymentGateway ?? paymentGateway(config, clock);
  const orders = createOrdersModule({ sql, actors, gateway, config, owner: node.incarnation, clock, logger });
  const warehouseClientInUse = options.warehouse ?? warehouseClient(config, database, clock);
  const warehouse = new WarehouseSync(sql, actors, warehouseClientInUse, { pageSize: config.warehousePageSize, logger });
  const events = new EventHub(sql, { pollMs: 250, batch: 500, logger });
  const metrics = createMetrics({
    sql,
    mailboxDepth: () => actors.depth(),
    mailboxes: () => actors.stats().mailboxes,
    pipelineInFlight: () => orders.worker.size,
    webhookPending: capabilities.webhooks ? () => pendingCount(sql) : undefined,
  });
  const webhooks = createWebhooksModule({ sql, capabilities, config, clock, owner: node.incarnation, logger, metrics, version: pkg.version, resolve: options.resolve });

  const scheduler = new Scheduler(
    sql,
    [
      ...orders.jobs,
      outboxPruneJob(sql, {
        schedule: config.pruneCron,
        eventsOlderThanMs: config.eventsRetentionMs,
        // Events a subscription has not taken yet stay, up to this bound (before migration 0004: no subscriptions).
        webhookHoldMaxMs: capabilities.webhooks ? config.webhooks.eventHoldMaxMs : undefined,
        jobRunsOlderThanMs: config.jobHistoryRetentionMs,
        limit: 10_000,
      }),
      warehouseSyncJob(warehouse, config.warehouseSyncCron, config.syncRequestTimeoutMs),
      ...webhooks.jobs,
    ],
    {
      node: node.incarnation,
      logger,
      now: () => clock.now(),
      jobTimeoutMs: config.jobTimeoutMs,
      lock: { acquireTimeoutMs: config.dbConnectTimeoutMs, keepAliveMs: Math.max(50, Math.floor(config.dbIdleTransactionTimeoutMs / 3)) },
    },
  );

  actors.onBatch = (size) => metrics.stockBatchSize.observe(size);
  orders.intake.onStored = (stored) => {
    metrics.ordersAccepted.inc(stored);
    metrics.intakeBatchSize.observe(stored);
  };
  // A labelled child per outcome, looked up once: an observation per payment costs no label hashing.
  const paymentSeries = new Map<string, { attempts: { inc(): void }; duration: { observe(s: number): void } }>();
  orders.worker.onPayment = (outcome, seconds) => {
    let series = paymentSeries.get(outcome);
    if (!series) paymentSeries.set(outcome, (series = { attempts: metrics.paymentAttempts.child({ outcome }), duration: metrics.paymentDuration.child({ outcome }) }));
    series.attempts.inc();
    series.duration.observe(seconds);
  };
  scheduler.onRun = (outcome) => {
    metrics.jobRuns.inc({ job: outcome.job, status: outcome.status });
    for (const [kind, n] of Object.entries(outcome.counts ?? {})) metrics.jobItems.inc({ job: outcome.job, kind }, n);
  };
  orders.reconciler.onSettled = (result) => metrics.reconciliations.inc({ result });
  warehouse.onRun = (run) => {
    metrics.syncRuns.inc({ status: run.status });
    metrics.syncAdjusted.inc(run.itemsAdjusted);
    metrics.syncErrors.inc(run.errors.length);
  };

  // The simulated warehouse's counts drift on a timer, not per request: two syncs in a row agree.
  const drift =
    warehouseClientInUse instanceof SimulatedWarehouse && config.warehouseDriftIntervalMs > 0
      ? setInterval(() => warehouseClientInUse.stock.drift(config.warehouseDriftRate), config.warehouseDriftIntervalMs)
      : undefined;
  drift?.unref();

  // Credentials: API keys in memory (refreshed every API_KEY_REFRESH_MS), customer tokens, rate limits.
  const keyStore = new KeyStore(sql, capabilities, { refreshMs: config.apiKeyRefreshMs, lastUsedEveryMs: 60_000, clock, logger });
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
    requestTimeoutMs: config.requestTimeoutMs,
    syncRequestTimeoutMs: config.syncRequestTimeoutMs,
  };

  const services: AppServices = {
    ping: (timeoutMs) => database.ping(timeoutMs),
    products: new ProductsService(db, capabilities),
    categories: new CategoriesService(db, capabilities),
    inventory: new InventoryService(sql, actors),
    orders: orders.service,
    events,
    warehouse,
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
    gateway,
    warehouse,
    warehouseClient: warehouseClientInUse,
    scheduler,
    metrics,
    node,
    webhooks,
    /** Joins the cluster, resumes what previous runs left, then runs the periodic jobs. */
    async start({ background = true }: { background?: boolean } = {}) {
      await node.register(config.heartbeatMs);
      await keyStore.start();
      if (!background) return;
      scheduler.start();
      orders.start();
      webhooks.start();
    },
    /**
     * Stops background work, lets work under way finish (up to SHUTDOWN_TIMEOUT_MS) and hands
     * back leases. Called after the HTTP server stopped taking requests; the caller closes the
     * database afterwards. Whatever is cut short is in the orders table for the next start.
     */
    async stop(timeoutMs = config.shutdownTimeoutMs) {
      clearInterval(drift);
      events.close();
      await keyStore.stop().catch((error: unknown) => logger.warn({ err: error }, 'could not record API key use'));
      await scheduler.stop();
      await webhooks.stop(timeoutMs);
      await orders.stop(timeoutMs);
      actors.close();
      await node.deregister().catch((error: unknown) => logger.warn({ err: error }, 'could not deregister'));
    },
  };
}
