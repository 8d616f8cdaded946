import type { StockActors } from '../../actors/stock-actors.ts';
import type { StockWork } from '../../actors/stock-engine.ts';
import type { Sql } from '../../db/client.ts';
import { toError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { findExpiredHolds } from './holds.queries.ts';

/**
 * Gives back the stock of holds whose time is up, in every process, whoever made them and whether
 * that process still runs. Every `pollMs` it looks at the active holds' expiry (the partial index:
 * a look that finds nothing costs next to nothing) and sends each set of products with lapsed
 * holds a work through its stock actor, which gives back every lapsed hold of those products
 * (`StockDesk.reclaimLapsed`). Several processes may find the same hold: its expiry is a
 * conditional update under the locks of its products, so it happens once, and the others' works
 * find nothing left to do.
 *
 * Not a scheduled job: the scheduler's slots are per cron second and each runs in one process,
 * which holds the job's lock for the run; a process frozen in a run would keep every other one
 * out until the server ends its idle transaction (DB_IDLE_TRANSACTION_TIMEOUT_MS, 5 s), past the
 * 2 s promise. A timer in each process has no such single holder.
 */
export class HoldExpiry {
  private timer: ReturnType<typeof setInterval> | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly actors: StockActors,
    private readonly options: { pollMs: number; logger: Logger },
  ) {}

  start() {
    this.timer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.options.logger.warn({ err: toError(error) }, 'hold expiry sweep failed'));
    }, this.options.pollMs);
  }

  /** One look (at most one at a time in this process): how many lapsed holds this process's works gave back. Tests call it instead of waiting. */
  sweep(): Promise<number> {
    this.sweeping ??= this.giveBack().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping?.catch(() => {});
  }

  private async giveBack(): Promise<number> {
    const expired = await findExpiredHolds(this.sql);
    const sets = new Map<string, string[]>();
    for (const hold of expired) {
      const productIds = [...new Set(hold.items.map((i) => i.productId))].sort();
      sets.set(productIds.join(','), productIds);
    }
    const given = await Promise.all([...sets.values()].map((productIds) => this.actors.submit(reclaim(productIds), { admit: false })));
    return given.reduce((sum, n) => sum + n, 0);
  }
}

/** A stock-only work: every lapsed hold of these products, whose products it locks all, gives its units back. */
const reclaim = (productIds: string[]): StockWork<number> => ({
  productIds,
  apply: (desk) => productIds.reduce((sum, id) => sum + desk.reclaimLapsed(id), 0),
});
