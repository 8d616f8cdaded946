import type { StockActors } from '../../actors/stock-actors.ts';
import type { Config } from '../../config.ts';
import type { Sql } from '../../db/client.ts';
import { idempotencyPruneJob } from '../../jobs/prune.ts';
import { leaseRescueJob } from '../../jobs/lease-rescue.ts';
import { orderRetriesJob } from '../../jobs/order-retries.ts';
import { paymentReconcileJob } from '../../jobs/payment-reconcile.ts';
import { stuckReservationsJob } from '../../jobs/stuck-reservations.ts';
import type { Job } from '../../jobs/job.ts';
import { backoffMs } from '../../lib/backoff.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { PaymentGateway } from '../payments/gateway.ts';
import { OrderIntake } from './intake.ts';
import { OrdersService } from './orders.service.ts';
import { PaymentReconciler } from './reconcile.ts';
import { releaseStuck } from './stuck.ts';
import { OrderSteps, type OrderPolicy } from './transitions.ts';
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
};

/**
 * The orders module wires itself: the state machine (`OrderSteps`, the only code that changes an
 * order after its intake), the intake, the worker, the reconciler, and their periodic jobs.
 * Nothing else writes `orders`, `order_logs` or an order's outbox record.
 */
export function createOrdersModule({ sql, actors, gateway, config, owner, clock, logger }: OrdersModuleDeps) {
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
  const steps = new OrderSteps(policy);
  const reconciler = new PaymentReconciler(sql, gateway, {
    batchSize: 200,
    holdMs: 60_000,
    retryDelayMs: (attempt) => backoffMs(attempt, { baseMs: config.reconcileRetryBaseMs, maxMs: config.reconcileRetryMaxMs }, clock.random),
    horizonMs: config.reconcileHorizonMs,
    logger,
  });
  const worker = new OrderWorker(sql, actors, steps, gateway, (orderId) => void reconciler.now(orderId).catch(() => {}), {
    owner,
    leaseMs: config.leaseMs,
    heartbeatTtlMs: config.heartbeatTtlMs,
    paymentMaxAttempts: config.paymentMaxAttempts,
    paymentConcurrency: config.paymentConcurrency,
    currency: config.paymentCurrency,
    retryDelayMs,
    claimBatch: 2000,
    maxInFlight: config.pipelineMaxInFlight,
    logger,
    now: () => clock.now(),
  });
  const intake = new OrderIntake(
    actors,
    policy,
    (born) => worker.accept(born),
    () => worker.recoverLost(),
  );
  const service = new OrdersService(sql, intake, actors, steps, () => void reconciler.sweep());
  const stuck = { owner, leaseMs: config.leaseMs, stuckMs: config.stuckReservationMs, limit: 500 };
  const jobs: Job[] = [
    orderRetriesJob(worker, config.retrySweepCron),
    leaseRescueJob(worker, config.leaseRescueCron),
    stuckReservationsJob((asOf) => releaseStuck(sql, actors, steps, stuck, asOf), config.stuckSweepCron),
    paymentReconcileJob(reconciler, config.reconcileCron),
    idempotencyPruneJob(sql, { schedule: config.pruneCron, olderThanMs: config.idempotencyTtlMs, limit: 10_000 }),
  ];
  return {
    service,
    intake,
    worker,
    reconciler,
    steps,
    jobs,
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
