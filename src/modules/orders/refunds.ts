import type { Sql } from '../../db/client.ts';
import { toError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { PaymentError, type PaymentGateway, type Refund } from '../payments/gateway.ts';
import type { ReconcileOutcome } from './reconcile.ts';
import { refundLater, refundNeedsPerson, refundSucceeded, type RefundItem } from './refunds.queries.ts';

export type RefundOptions = {
  /** Delay before look `attempt + 1` (the service's one backoff formula). */
  retryDelayMs(attempt: number): number;
  logger: Logger;
};

/**
 * The refunds of returns. Each is one call to the provider under the return's own key, for exactly
 * the returned units' value: made right after the return is stored, and again by the sweep while its
 * outcome is unknown (a 5xx, a timeout, a dropped answer, a process killed before it recorded the
 * answer). The provider answers a repeated key with the refund it made, so a refund is never made
 * twice, and it refuses more than is left of the charge, so refunds never exceed it. Until the
 * horizon a refund is asked for again with backoff (the reconciler's sweep claims it); then, or when
 * the provider refuses it, a person is told (`refund_attention`, a log row and
 * `payment_reconciliations_total{result="attention"}`).
 */
export class Refunds {
  constructor(
    private readonly sql: Sql,
    private readonly gateway: PaymentGateway,
    private readonly metrics: Metrics,
    private readonly options: RefundOptions,
  ) {}

  /** One call to the provider for this refund, and its record. A record that fails leaves the refund due: the next look records it. */
  async ask(item: RefundItem): Promise<ReconcileOutcome> {
    const attempts = item.attempts + 1;
    let refund: Refund | undefined;
    let failure: PaymentError | undefined;
    try {
      if (item.chargeId === null) throw new PaymentError(`order ${item.orderId} has no charge to refund`, 'permanent');
      refund = await this.gateway.refund(item.chargeId, item.key, item.amount);
    } catch (error) {
      failure = error instanceof PaymentError ? error : new PaymentError(toError(error).message, 'unknown');
    }
    const outcome: ReconcileOutcome = refund ? 'refunded' : failure!.kind === 'permanent' || item.lastChance ? 'attention' : 'retry';
    try {
      if (refund) await refundSucceeded(this.sql, item.returnId, attempts, { reference: refund.id, amount: refund.amount });
      else if (outcome === 'attention') await this.attention(item, attempts, failure!);
      else await refundLater(this.sql, item.returnId, attempts, this.options.retryDelayMs(attempts));
      this.metrics.reconciliations.inc({ result: outcome });
    } catch (error) {
      this.options.logger.warn({ err: toError(error), returnId: item.returnId }, 'could not record a refund; it is asked for again when due');
    }
    return outcome;
  }

  private async attention(item: RefundItem, attempts: number, failure: PaymentError) {
    const refused = failure.kind === 'permanent';
    const reason = refused ? `the provider refused it: ${failure.message}` : `the provider could not settle it before the horizon: ${failure.message}`;
    this.options.logger.error({ orderId: item.orderId, returnId: item.returnId, reason }, 'a refund needs a person');
    await refundNeedsPerson(this.sql, item.returnId, attempts, reason, refused);
  }
}
