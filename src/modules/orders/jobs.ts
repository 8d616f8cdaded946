import type { Config } from '../../config.ts';
import type { Sql } from '../../db/client.ts';
import type { Job } from '../../jobs/job.ts';
import type { PaymentReconciler } from './reconcile.ts';
import type { OrderWorker } from './worker.ts';
import { pruneIdempotencyKeys } from './work.queries.ts';

/** Idempotency keys let go of per run: the next run (10 minutes later) takes the rest. */
const PRUNE_LIMIT = 10_000;

/** The orders module's periodic jobs (README, "Scheduled work"). */
export function orderJobs(sql: Sql, config: Config, parts: { worker: OrderWorker; reconciler: PaymentReconciler; releaseStuck(asOf?: Date): Promise<number> }): Job[] {
  const { worker, reconciler } = parts;
  return [
    /** Resumes orders whose retry (stock or payment) is due and that nobody holds. */
    { name: 'order-retries', schedule: config.retrySweepCron, run: async (asOf) => ({ resumed: await worker.sweep(asOf, 'due') }) },
    /** Takes over orders whose lease expired or whose owner stopped sending heartbeats. */
    { name: 'lease-rescue', schedule: config.leaseRescueCron, run: async (asOf) => ({ rescued: await worker.sweep(asOf, 'abandoned') }) },
    /** Releases the stock of orders stuck in `reserved` past STUCK_RESERVATION_MS; they fail, and a charge is looked for. */
    { name: 'stuck-reservations', schedule: config.stuckSweepCron, run: async (asOf) => ({ released: await parts.releaseStuck(asOf) }) },
    /** Refunds charges that landed on orders that did not go through; clears what needs nothing. */
    { name: 'payment-reconcile', schedule: config.reconcileCron, run: async (asOf) => ({ settled: await reconciler.sweep(asOf) }) },
    /** Idempotency keys older than their 24 hours (the orders stay). */
    {
      name: 'idempotency-prune',
      schedule: config.pruneCron,
      run: async (asOf) => ({ deleted: await pruneIdempotencyKeys(sql, { olderThanMs: config.idempotencyTtlMs, limit: PRUNE_LIMIT, asOf }) }),
    },
  ];
}
