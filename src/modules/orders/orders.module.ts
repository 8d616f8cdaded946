import type { StockActors } from '../../actors/stock-actors.ts';
import type { Config } from '../../config.ts';
import type { Sql } from '../../db/client.ts';
import { backoffMs } from '../../lib/backoff.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { HoldLink } from '../holds/hold-keeper.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { PaymentGateway } from '../payments/gateway.ts';
import { AfterSaleService } from './after-sale.service.ts';
import { OrderIntake } from './intake.ts';
import { IntakeBatch } from './intake-batch.ts';
import { orderJobs } from './jobs.ts';
import { countOrdersByStatus } from './orders.queries.ts';
import { OrdersService } from './orders.service.ts';
import { PaymentReconciler } from './reconcile.ts';
import { Refunds } from './refunds.ts';
import { OrderMemory } from './order-memory.ts';
import { OrderSteps } from './steps.ts';
import { releaseStuck } from './stuck.ts';
import type { OrderPolicy } from './transitions.ts';
import { releaseLeases } from './work.queries.ts';
import { OrderWorker } from './worker.ts';

export type OrdersModuleDeps = {
  sql: Sql;
  actors: StockActors;
  gateway: PaymentGateway;
  config: Config;
  /** This process's incarnation: the owner of its leases. */
  owner: string;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Orders placed with a hold take its stock. */
  holds: HoldLink;
};

/** Orders claimed per statement by a sweep. */
const CLAIM_BATCH = 2000;

/**
 * The orders module wires itself: the state machine (`OrderSteps`, the only code that changes an
 * order after its intake), the intake, the worker, shipping and returns, the reconciler (of
 * charges and of refunds), and their periodic jobs.
 * Nothing else writes `orders`, `order_logs` or an order's outbox record.
 */
export function createOrdersModule({ sql, actors, gateway, config, owner, clock, logger, metrics, holds }: OrdersModuleDeps) {
  const retryDelayMs = (attempt: number) => backoffMs(attempt, { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs }, clock.random);
  const policy: OrderPolicy = {
    owner,
    leaseMs: config.leaseMs,
    maxAttempts: config.orderMaxAttempts,
    retryDelayMs,
    // Past the payment timeout, a charge still in flight has landed or never will; the horizon covers providers that are later still.
    reconcileDelayMs: config.paymentTimeoutMs * 2 + 1000,
    reconcileHorizonMs: config.reconcileHorizonMs,
  };
  const memory = new OrderMemory();
  const steps = new OrderSteps(policy, memory);
  const lookAgainMs = (attempt: number) => backoffMs(attempt, { baseMs: config.reconcileRetryBaseMs, maxMs: config.reconcileRetryMaxMs }, clock.random);
  const refunds = new Refunds(sql, gateway, metrics, { retryDelayMs: lookAgainMs, logger });
  const reconciler = new PaymentReconciler(sql, gateway, refunds, metrics, { retryDelayMs: lookAgainMs, horizonMs: config.reconcileHorizonMs, logger });
  const worker = new OrderWorker(sql, actors, steps, gateway, (orderId) => void reconciler.now(orderId).catch(() => {}), metrics, {
    owner,
    leaseMs: config.leaseMs,
    heartbeatTtlMs: config.heartbeatTtlMs,
    paymentMaxAttempts: config.paymentMaxAttempts,
    paymentConcurrency: config.paymentConcurrency,
    currency: config.paymentCurrency,
    retryDelayMs,
    claimBatch: CLAIM_BATCH,
    maxInFlight: config.pipelineMaxInFlight,
    logger,
    now: () => clock.now(),
  });
  const intake = new OrderIntake(
    actors,
    new IntakeBatch(policy, metrics, holds, memory),
    (born) => worker.accept(born),
    () => worker.recoverLost(),
  );
  const service = new OrdersService(sql, intake, actors, steps, () => void reconciler.sweep());
  const afterSale = new AfterSaleService(sql, actors, steps, refunds, (id) => service.get(id));
  const stuck = { owner, leaseMs: config.leaseMs, stuckMs: config.stuckReservationMs };
  metrics.rowGaugeBy('orders_by_status', 'Orders in each status', 'status', async () =>
    (await countOrdersByStatus(sql)).map((row) => ({ key: row.status, n: row.count })),
  );
  metrics.gauge('order_pipeline_in_flight', 'Orders this process is working on', () => worker.size);
  return {
    service,
    afterSale,
    intake,
    worker,
    reconciler,
    refunds,
    steps,
    jobs: orderJobs(sql, config, { worker, reconciler, releaseStuck: (asOf) => releaseStuck(sql, actors, steps, stuck, asOf) }),
    /** Resumes what previous runs left (a dead incarnation's leases are void at once). */
    start() {
      void worker.sweep();
      void reconciler.sweep();
    },
    /** Lets work under way finish (up to the deadline), then hands this process's leases back. */
    async stop(timeoutMs: number) {
      await worker.stop(timeoutMs);
      await actors.drain();
      await releaseLeases(sql, owner).catch((error: unknown) => logger.warn({ err: error }, 'could not hand back leases'));
    },
  };
}
