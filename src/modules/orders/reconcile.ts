import type { Sql } from '../../db/client.ts';
import { toError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { chargeKey, PaymentError, refundKey, type PaymentGateway } from '../payments/gateway.ts';
import type { Refunds } from './refunds.ts';
import { claimRefunds } from './refunds.queries.ts';
import { claimReconcile, finishReconcile, reconcileSoon, type ReconcileItem, type ReconcileResult } from './work.queries.ts';

export type ReconcilerOptions = {
  /** Delay before look `attempt + 1` (the service's one backoff formula). */
  retryDelayMs(attempt: number): number;
  /** How long asking goes on (RECONCILE_HORIZON_MS); the first look sets it. */
  horizonMs: number;
  logger: Logger;
};

export type ReconcileOutcome = 'refunded' | 'cleared' | 'retry' | 'attention';

/** Orders (or refunds) asked about per claim (their calls go out together); a sweep claims until none are due. */
const BATCH = 200;
/** A claimed order is hidden from other sweeps this long: far longer than asking the provider takes. */
const HOLD_MS = 60_000;

/**
 * Settles what the provider may owe an order that moved on without its payment: a cancelled order
 * that was charged (before or after the cancel), a failed order whose last attempt had an unknown
 * outcome, a charge that landed after a worker lost the order. It asks the provider for the
 * order's charge (the key is derived from the order) and refunds what is left of it under a refund
 * key derived from the order too, so neither is ever doubled. The same sweep asks again for the
 * refunds of returns whose outcome is unknown (`Refunds`, each under its return's own key).
 *
 * A look that finds nothing is not the end: a charge can land after any look, so the order stays
 * due, with backoff, until the horizon. Only then does it stop, saying why in the log; and if the
 * provider could not be asked, or refused the refund, until then, the order is flagged for a
 * person (`attention`, a log row and a metric): a refund that may be owed is never dropped quietly.
 */
export class PaymentReconciler {
  private pending: Promise<number> | undefined;
  private again = false;

  constructor(
    private readonly sql: Sql,
    private readonly gateway: PaymentGateway,
    private readonly refunds: Refunds,
    private readonly metrics: Metrics,
    private readonly options: ReconcilerOptions,
  ) {}

  /** The order's charge must be looked at now (it landed, or may have, after the order moved on). */
  async now(orderId: string): Promise<void> {
    await reconcileSoon(this.sql, orderId, this.options.horizonMs);
    void this.sweep();
  }

  sweep(asOf?: Date): Promise<number> {
    if (this.pending) {
      this.again = true;
      return this.pending;
    }
    this.pending = this.run(asOf).finally(() => {
      this.pending = undefined;
      if (this.again) {
        this.again = false;
        void this.sweep();
      }
    });
    return this.pending;
  }

  private async run(asOf?: Date): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const items = await claimReconcile(this.sql, { limit: BATCH, holdMs: HOLD_MS, asOf });
        await Promise.all(items.map((item) => this.settle(item)));
        total += items.length;
        if (items.length < BATCH) break;
      }
      for (;;) {
        const refunds = await claimRefunds(this.sql, { limit: BATCH, holdMs: HOLD_MS, asOf });
        await Promise.all(refunds.map((item) => this.refunds.ask(item)));
        total += refunds.length;
        if (refunds.length < BATCH) return total;
      }
    } catch (error) {
      this.options.logger.error({ err: toError(error) }, 'payment reconcile sweep failed');
      return total;
    }
  }

  private async settle(item: ReconcileItem) {
    const result = await this.decide(item);
    const outcome: ReconcileOutcome = result.attention ? 'attention' : result.payment?.status === 'refunded' ? 'refunded' : result.nextInMs === null ? 'cleared' : 'retry';
    if (outcome === 'attention') this.options.logger.error({ orderId: item.id, reason: result.attention }, 'order needs a person: a refund may be owed');
    try {
      await finishReconcile(this.sql, result);
      this.metrics.reconciliations.inc({ result: outcome });
    } catch (error) {
      // Left claimed: it is due again once its hold runs out.
      this.options.logger.warn({ err: toError(error), orderId: item.id }, 'could not record a payment reconcile');
    }
  }

  private async decide(item: ReconcileItem): Promise<ReconcileResult> {
    const attempts = item.reconcileAttempts + 1;
    const later = (): ReconcileResult => ({ id: item.id, attempts, nextInMs: this.options.retryDelayMs(attempts) });
    try {
      const charge = await this.gateway.findCharge(chargeKey(item.id));
      // A declined charge is the key's answer for good: no money was taken, and none will be under it.
      if (charge?.status === 'declined') return { id: item.id, attempts, nextInMs: null };
      if (charge?.status === 'succeeded') {
        // Paid orders keep their charge; an order still being worked on is its worker's to settle.
        if (item.status === 'processed' || item.status === 'shipped') return { id: item.id, attempts, nextInMs: null };
        if (item.status === 'pending' || item.status === 'reserved') return item.lastChance ? this.attention(item, attempts, 'charged, still not settled at the horizon') : later();
        // What is left of it: a cancel or a failure owes everything the returns have not refunded.
        const refund = await this.gateway.refund(charge.id, refundKey(item.id));
        return {
          id: item.id,
          attempts,
          nextInMs: null,
          payment: { status: 'refunded', reference: charge.id, refunded: refund.amount },
          log: `refund ${refund.id} of ${refund.amount} issued for charge ${charge.id}`,
        };
      }
      if (item.paymentStatus === 'refund_pending' && item.lastChance) {
        return this.attention(item, attempts, 'a refund is pending but the provider holds no succeeded charge for this order');
      }
      if (!item.lastChance) return later();
      return { id: item.id, attempts, nextInMs: null, log: 'no charge appeared within the reconcile horizon; nothing to refund' };
    } catch (error) {
      const reason = toError(error).message;
      const permanent = error instanceof PaymentError && error.kind === 'permanent';
      if (permanent || item.lastChance) return this.attention(item, attempts, `the payment provider could not settle it: ${reason}`);
      this.options.logger.warn({ err: toError(error), orderId: item.id }, 'payment reconcile failed; will retry');
      return later();
    }
  }

  private attention(item: ReconcileItem, attempts: number, reason: string): ReconcileResult {
    return { id: item.id, attempts, nextInMs: null, attention: reason, log: `needs a person: ${reason}` };
  }
}
