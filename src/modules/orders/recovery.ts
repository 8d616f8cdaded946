import type { Sql } from '../../db/client.ts';
import { toError } from '../../http/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { OrderPipeline } from './pipeline.ts';
import { claimDueOrders, type ClaimKind } from './work.queries.ts';

export type RecoveryOptions = {
  owner: string;
  leaseMs: number;
  heartbeatTtlMs: number;
  /** Orders claimed per statement. */
  batchSize: number;
  /** Claim no more while the pipeline holds this many orders (memory stays bounded). */
  maxInFlight: number;
  logger: Logger;
  now(): number;
};

/**
 * Feeds the pipeline from the orders table: at start-up (everything a dead process left), on the
 * cron sweep, and at the moment a retry falls due (`wakeAt`). Claims are capped and only taken
 * while the pipeline has room, so a backlog of any size is worked through in bounded memory.
 */
export class OrderRecovery {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wakeTime = Number.POSITIVE_INFINITY;
  private running: Promise<number> | undefined;
  private stopped = false;

  constructor(
    private readonly sql: Sql,
    private readonly pipeline: OrderPipeline,
    private readonly options: RecoveryOptions,
  ) {}

  /** Something falls due at `at` (ms since epoch): sweep then (slightly after, for clock skew). */
  wakeAt(at: number) {
    if (this.stopped || at >= this.wakeTime) return;
    this.wakeTime = at;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.wakeTime = Number.POSITIVE_INFINITY;
      void this.sweep();
    }, Math.max(0, at - this.options.now()) + 25);
  }

  /** Claims and resumes orders of `kind` until none are left or the pipeline is full. */
  sweep(asOf?: Date, kind: ClaimKind = 'any'): Promise<number> {
    if (this.stopped) return Promise.resolve(0);
    if (this.running) return this.running.then(() => this.sweep(asOf, kind));
    this.running = this.claimAll(asOf, kind).finally(() => (this.running = undefined));
    return this.running;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async claimAll(asOf: Date | undefined, kind: ClaimKind): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const room = this.options.maxInFlight - this.pipeline.size;
        if (room <= 0) {
          this.wakeAt(this.options.now() + 200); // backlog: come back when the pipeline has room
          break;
        }
        const limit = Math.min(this.options.batchSize, room);
        const claimed = await claimDueOrders(this.sql, { ...this.options, kind, limit, asOf });
        total += claimed.length;
        this.pipeline.resume(claimed);
        if (claimed.length < limit) break;
      }
    } catch (error) {
      this.options.logger.error({ err: toError(error) }, 'order recovery sweep failed');
    }
    return total;
  }
}
