import { StockActors } from './actors/stock-actors.ts';
import type { OrderPolicy } from './actors/stock-commands.ts';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import type { Tokens } from './http/auth.ts';
import { createApp, type App, type AppServices } from './http/app.ts';
import { Scheduler } from './jobs/scheduler.ts';
import { backoffMs, systemClock, type Clock } from './lib/clock.ts';
import type { Logger } from './lib/logger.ts';
import { Capabilities } from './modules/capabilities.ts';
import { CategoriesService } from './modules/categories/categories.service.ts';
import { EventHub } from './modules/events/event-hub.ts';
import { InventoryService } from './modules/inventory/inventory.service.ts';
import { NodeIdentity, resolveNodeId } from './modules/nodes/nodes.ts';
import { OrderIntake } from './modules/orders/intake.ts';
import { OrdersService } from './modules/orders/orders.service.ts';
import { OrderPipeline } from './modules/orders/pipeline.ts';
import { OrderRecovery } from './modules/orders/recovery.ts';
import type { PaymentGateway } from './modules/payments/gateway.ts';
import { HttpPaymentGateway } from './modules/payments/http-gateway.ts';
import { PaymentReconciler } from './modules/payments/reconciler.ts';
import { Behaviour, SimulatedGateway } from './modules/payments/simulator.ts';
import { ProductsService } from './modules/products/products.service.ts';
import pkg from '../package.json' with { type: 'json' };

export type ServiceOptions = {
  clock?: Clock;
  /** Replaces the gateway chosen from the configuration (tests hand in a simulator they control). */
  paymentGateway?: PaymentGateway;
};

export type Service = Awaited<ReturnType<typeof buildService>>;

/** Wires the services of one process on an open, migrated database. Nothing runs until `start()`. */
export async function buildService(config: Config, database: Database, tokens: Tokens, logger: Logger, options: ServiceOptions = {}) {
  const { sql, db } = database;
  const clock = options.clock ?? systemClock;
  const capabilities = await Capabilities.detect(db);
  const node = new NodeIdentity(resolveNodeId(config.nodeId, config.dataDir), sql, logger);
  const retryDelayMs = (attempt: number) => backoffMs(attempt, config.retryBaseMs, config.retryMaxMs, clock.random);

  const policy: OrderPolicy = {
    owner: node.incarnation,
    leaseMs: config.leaseMs,
    maxAttempts: config.orderMaxAttempts,
    retryDelayMs,
    // Past the payment timeout, a charge still in flight has landed or never will.
    reconcileDelayMs: config.paymentTimeoutMs * 2 + 1000,
  };
  const actors = new StockActors(sql, { maxDepth: config.mailboxMaxDepth, maxBatch: 500, idleMs: 60_000 }, policy);
  const gateway =
    options.paymentGateway ??
    (config.paymentUrl
      ? new HttpPaymentGateway(config.paymentUrl, config.paymentTimeoutMs)
      : new SimulatedGateway(
          new Behaviour({ failureRate: config.paymentFailureRate, timeoutRate: config.paymentTimeoutRate, latencyMs: config.paymentLatencyMs }, clock),
          config.paymentTimeoutMs,
          clock,
        ));
  const reconciler = new PaymentReconciler(sql, gateway, { batchSize: 200, holdMs: 60_000, retryMs: 30_000, logger });
  const reconcileNow = (orderId: string) => void reconciler.now(orderId).catch(() => {});

  let recovery: OrderRecovery | undefined;
  const pipeline = new OrderPipeline(sql, actors, gateway, {
    paymentMaxAttempts: config.paymentMaxAttempts,
    paymentConcurrency: config.paymentConcurrency,
    currency: config.paymentCurrency,
    retryDelayMs,
    onRetryScheduled: (at) => recovery?.wakeAt(at),
    reconcileNow,
    logger,
    now: () => clock.now(),
  });
  recovery = new OrderRecovery(sql, pipeline, {
    owner: node.incarnation,
    leaseMs: config.leaseMs,
    heartbeatTtlMs: config.heartbeatTtlMs,
    batchSize: 2000,
    maxInFlight: config.pipelineMaxInFlight,
    logger,
    now: () => clock.now(),
  });
  const intake = new OrderIntake(sql, {
    owner: node.incarnation,
    leaseMs: config.leaseMs,
    maxBatch: 512,
    lingerMs: 1,
    maxInFlight: 4,
    onAccepted: (work) => pipeline.accept(work),
    isSaturated: (productId) => actors.full(productId),
  });
  const events = new EventHub(sql, { pollMs: 250, batch: 500, logger });
  const orderRecovery = recovery;
  const scheduler = new Scheduler(
    [
      { name: 'order-recovery', schedule: config.orderSweepCron, run: async (asOf) => ({ claimed: await orderRecovery.sweep(asOf) }) },
      { name: 'payment-reconcile', schedule: config.reconcileCron, run: async (asOf) => ({ settled: await reconciler.sweep(asOf) }) },
    ],
    logger,
  );

  const services: AppServices = {
    sql,
    products: new ProductsService(db, capabilities),
    categories: new CategoriesService(db, capabilities),
    inventory: new InventoryService(sql, actors),
    orders: new OrdersService(sql, intake, actors, reconcileNow),
    events,
  };
  const app = createApp(services, { tokens, bodyLimitBytes: config.bodyLimitBytes, logger, version: pkg.version });

  return {
    app,
    services,
    capabilities,
    actors,
    intake,
    pipeline,
    recovery,
    reconciler,
    gateway,
    scheduler,
    node,
    /** Joins the cluster, resumes what previous runs left, then runs the periodic jobs. */
    async start({ background = true }: { background?: boolean } = {}) {
      await node.register(config.heartbeatMs);
      if (!background) return;
      scheduler.start();
      void orderRecovery.sweep();
      void reconciler.sweep();
    },
    /** Stops background work, lets work under way finish (up to the deadline), hands back leases. */
    async stop() {
      await scheduler.stop();
      orderRecovery.stop();
      events.close();
      await intake.drain();
      await pipeline.stop(config.shutdownTimeoutMs);
      await actors.drain();
      actors.close();
      await node.deregister().catch((error: unknown) => logger.warn({ err: error }, 'could not deregister'));
    },
  };
}
