import type { Clock } from '../../lib/clock.ts';
import { fromCents, toCents } from '../../lib/money.ts';
import type { Charge, ChargeRequest, Refund } from './gateway.ts';

/** Why a refund was refused: no such charge, or nothing (or less than asked) is left of it. */
export type RefundRefusal = { refused: 'unknown_charge' | 'not_refundable'; reason: string };

/**
 * The simulator's books: charges by idempotency key, refunds by their own key. A repeated key
 * returns the first charge (or refund) and never makes another; that is the property the service
 * relies on. A charge is refunded in parts, never beyond its amount.
 */
export class PaymentLedger {
  private readonly charges = new Map<string, Charge & { idempotencyKey: string }>();
  private readonly chargesById = new Map<string, Charge & { idempotencyKey: string }>();
  private readonly refunds = new Map<string, Refund>();
  /** Cents refunded so far, by charge id. */
  private readonly refundedCents = new Map<string, bigint>();
  /** Keys in the order they were charged, for eviction; `head` is the oldest still kept. */
  private order: string[] = [];
  private head = 0;
  private sequence = 0;

  /**
   * `maxCharges` bounds what the in-process simulator keeps (the oldest go first): a stand-in for
   * a provider must not grow the shop's memory for ever. The standalone simulator keeps all.
   */
  constructor(
    private readonly clock: Pick<Clock, 'now'>,
    private readonly maxCharges = Number.POSITIVE_INFINITY,
  ) {}

  charge(request: ChargeRequest, status: Charge['status']): { charge: Charge; created: boolean } {
    const existing = this.charges.get(request.idempotencyKey);
    if (existing) return { charge: strip(existing), created: false };
    const charge = {
      id: `ch_${(++this.sequence).toString(36).padStart(6, '0')}_${Math.random().toString(36).slice(2, 8)}`,
      orderId: request.orderId,
      amount: request.amount,
      currency: request.currency,
      status,
      createdAt: new Date(this.clock.now()).toISOString(),
      idempotencyKey: request.idempotencyKey,
    };
    this.charges.set(request.idempotencyKey, charge);
    this.chargesById.set(charge.id, charge);
    if (this.maxCharges !== Number.POSITIVE_INFINITY) {
      this.order.push(request.idempotencyKey);
      if (this.charges.size > this.maxCharges) this.forgetOldest();
    }
    return { charge: strip(charge), created: true };
  }

  find(idempotencyKey: string): Charge | null {
    const charge = this.charges.get(idempotencyKey);
    return charge ? strip(charge) : null;
  }

  /** `amount` absent: what is left of the charge. More than is left is refused, whatever the key. */
  refund(chargeId: string, idempotencyKey: string, amount?: string): { refund: Refund; created: boolean } | RefundRefusal {
    const existing = this.refunds.get(idempotencyKey);
    if (existing) return { refund: existing, created: false };
    const charge = this.chargesById.get(chargeId);
    if (!charge) return { refused: 'unknown_charge', reason: `no charge ${chargeId}` };
    if (charge.status !== 'succeeded') return { refused: 'not_refundable', reason: `charge ${chargeId} was ${charge.status}` };
    const refunded = this.refundedCents.get(chargeId) ?? 0n;
    const left = toCents(charge.amount) - refunded;
    const cents = amount === undefined ? left : toCents(amount);
    if (cents <= 0n || cents > left) {
      return { refused: 'not_refundable', reason: `charge ${chargeId} has ${fromCents(left)} left to refund, not ${fromCents(cents)}` };
    }
    const refund: Refund = {
      id: `re_${(++this.sequence).toString(36).padStart(6, '0')}`,
      chargeId,
      amount: fromCents(cents),
      status: 'succeeded',
      createdAt: new Date(this.clock.now()).toISOString(),
    };
    this.refunds.set(idempotencyKey, refund);
    this.refundedCents.set(chargeId, refunded + cents);
    return { refund, created: true };
  }

  /**
   * O(1): a queue of keys, not a walk of the map (iterating a map from its start after many
   * deletions grew with the deletions). The queue is compacted once half of it is spent.
   */
  private forgetOldest() {
    const key = this.order[this.head++]!;
    const charge = this.charges.get(key);
    this.charges.delete(key);
    if (charge) {
      this.chargesById.delete(charge.id);
      this.refundedCents.delete(charge.id);
    }
    if (this.head > 65_536 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  /** Everything booked, for tests and the simulator's control API. */
  dump() {
    return {
      charges: [...this.charges.values()].map((c) => ({ ...strip(c), idempotencyKey: c.idempotencyKey })),
      refunds: [...this.refunds.values()],
    };
  }

  reset() {
    this.order = [];
    this.head = 0;
    this.charges.clear();
    this.chargesById.clear();
    this.refunds.clear();
    this.refundedCents.clear();
  }
}

function strip(charge: Charge & { idempotencyKey: string }): Charge {
  const { idempotencyKey: _key, ...rest } = charge;
  return rest;
}
