import type { StockActors } from '../actors/stock-actors.ts';
import type { Sql } from '../db/client.ts';
import { claimStuckReservations } from '../modules/orders/work.queries.ts';
import type { Job } from './job.ts';

export type StuckReservationsOptions = { schedule: string; owner: string; leaseMs: number; stuckMs: number; limit: number };

/**
 * Releases the stock of orders stuck in `reserved` for longer than `stuckMs` (a worker wedged on
 * them, a provider that never settles): the order fails with a log row saying why, and the
 * reconciler checks later for a charge to refund.
 */
export const stuckReservationsJob = (sql: Sql, actors: StockActors, options: StuckReservationsOptions): Job => ({
  name: 'stuck-reservations',
  schedule: options.schedule,
  async run(asOf) {
    const stuck = await claimStuckReservations(sql, { ...options, asOf });
    const minutes = Math.round(options.stuckMs / 60_000);
    const outcomes = await Promise.all(
      stuck.map((order) =>
        actors.order({
          kind: 'fail',
          orderId: order.id,
          version: order.version,
          items: order.items,
          error: `no progress for more than ${minutes} min while reserved`,
          message: `reservation released: stuck in reserved for more than ${minutes} min`,
          payment: { status: 'failed', attempts: order.paymentAttempts },
          reconcile: true,
        }),
      ),
    );
    return { released: outcomes.filter((o) => o.outcome === 'failed').length };
  },
});
