import type { StockActors } from '../../actors/stock-actors.ts';
import type { Sql } from '../../db/client.ts';
import type { OrderSteps } from './steps.ts';
import { claimStuckReservations } from './work.queries.ts';

export type StuckOptions = { owner: string; leaseMs: number; stuckMs: number };

/** Orders released per run: the next run (a minute later) takes the rest. */
const LIMIT = 500;

/**
 * Releases the stock of orders stuck in `reserved` for longer than `stuckMs` (a worker wedged on
 * them, a provider that never settles): the order fails with a log row saying why, and the
 * reconciler looks for a charge to refund until its horizon.
 */
export async function releaseStuck(sql: Sql, actors: StockActors, steps: OrderSteps, options: StuckOptions, asOf?: Date): Promise<number> {
  const stuck = await claimStuckReservations(sql, { ...options, limit: LIMIT, asOf });
  const minutes = Math.round(options.stuckMs / 60_000);
  const outcomes = await Promise.all(
    stuck.map((order) =>
      actors.submit(
        steps.work(order.id, order.items, {
          kind: 'fail',
          version: order.version,
          error: `no progress for more than ${minutes} min while reserved`,
          message: `reservation released: stuck in reserved for more than ${minutes} min`,
          payment: { status: 'failed', attempts: order.paymentAttempts },
          reconcile: true,
        }),
        { admit: false },
      ),
    ),
  );
  return outcomes.filter((o) => o.outcome === 'moved').length;
}
