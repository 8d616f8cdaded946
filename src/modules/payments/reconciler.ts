import type { Sql } from '../../db/client.ts';
import { toError } from '../../http/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { claimReconcile, finishReconcile, type ReconcileItem } from '../orders/work.queries.ts';
import { chargeKey, refundKey, type PaymentGateway } from './gateway.ts';

export type ReconcilerOptions = {
  batchSize: number;
  /** How long a claimed item is hidden from other sweeps while it is being handled. */
  holdMs: number;
  /** When a provider call failed, ask again after this long. */
  retryMs: number;
  logger: Logger;
};

/**
 * Settles what the provider may owe an order that moved on without its payment: a cancelled order
 * that was charged (before or after the cancel), a failed order whose last attempt had an unknown
 * outcome. It asks the provider for the order's charge and refunds it, under a refund key derived
 * from the order, so a refund is never issued twice either.
 */
export class PaymentReconciler {
  private pending: Promise<number> | undefined;
  private again = false;
  /** Observer for metrics: what became of each order looked at. */
  onSettled: (result: 'refunded' | 'cleared' | 'retry') => void = () => {};

  constructor(
    private readonly sql: Sql,
    private readonly gateway: PaymentGateway,
    private readonly options: ReconcilerOptions,
  ) {}

  /** The order's charge must be looked at now (it landed after the order moved on). */
  async now(orderId: string): Promise<void> {
    await this.sql`UPDATE orders SET reconcile_at = now() WHERE id = ${orderId} AND status IN ('cancelled', 'failed')`;
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
        const items = await claimReconcile(this.sql, { limit: this.options.batchSize, holdMs: this.options.holdMs, asOf });
        await Promise.all(items.map((item) => this.settle(item)));
        total += items.length;
        if (items.length < this.options.batchSize) return total;
      }
    } catch (error) {
      this.options.logger.error({ err: toError(error) }, 'payment reconcile sweep failed');
      return total;
    }
  }

  private async settle(item: ReconcileItem) {
    try {
      const charge = await this.gateway.findCharge(chargeKey(item.id));
      if (!charge || charge.status !== 'succeeded') {
        this.onSettled('cleared');
        const nothing = item.paymentStatus === 'refund_pending' ? 'failed' : undefined;
        return finishReconcile(this.sql, { id: item.id, paymentStatus: nothing, log: 'payment provider holds no charge for this order; nothing to refund' });
      }
      if (item.status !== 'cancelled' && item.status !== 'failed') {
        this.onSettled('cleared');
        return finishReconcile(this.sql, { id: item.id });
      }
      const refund = await this.gateway.refund(charge.id, refundKey(item.id), charge.amount);
      this.onSettled('refunded');
      return finishReconcile(this.sql, {
        id: item.id,
        paymentStatus: 'refunded',
        paymentReference: charge.id,
        log: `refund ${refund.id} of ${refund.amount} issued for charge ${charge.id}`,
      });
    } catch (error) {
      this.onSettled('retry');
      this.options.logger.warn({ err: toError(error), orderId: item.id }, 'payment reconcile failed; will retry');
      return finishReconcile(this.sql, { id: item.id, retryInMs: this.options.retryMs });
    }
  }
}
