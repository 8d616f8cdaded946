/**
 * The payment provider, as the service sees it (protocol in API.md, "Payment provider"). Two
 * implementations: the built-in simulator and an HTTP client for `PAYMENT_URL`.
 */
export type Charge = {
  id: string;
  orderId: string;
  amount: string;
  currency: string;
  status: 'succeeded' | 'declined';
  createdAt: string;
};

export type Refund = { id: string; chargeId: string; amount: string; status: 'succeeded'; createdAt: string };

export type ChargeRequest = { idempotencyKey: string; orderId: string; amount: string; currency: string };

/**
 * - `unknown`: the charge may or may not have happened (timeout, 5xx, dropped connection): ask the
 *   provider before charging again.
 * - `retryable`: nothing was charged; try again later (409, 429).
 * - `permanent`: the provider refused the request (other 4xx): the order fails.
 */
export type PaymentErrorKind = 'unknown' | 'retryable' | 'permanent';

export class PaymentError extends Error {
  override name = 'PaymentError';
  constructor(
    message: string,
    readonly kind: PaymentErrorKind,
  ) {
    super(message);
  }
}

export interface PaymentGateway {
  /** A declined card is an answer, not an error: it comes back as a charge with status `declined`. */
  charge(request: ChargeRequest): Promise<Charge>;
  /** The charge made under this idempotency key, if any. */
  findCharge(idempotencyKey: string): Promise<Charge | null>;
  /**
   * Refunds part of a charge (`amount`), or what is left of it (absent). More than is left is
   * refused (`permanent`); a repeated key answers the first refund and never refunds again.
   */
  refund(chargeId: string, idempotencyKey: string, amount?: string): Promise<Refund>;
}

/** Every retry of an order's payment uses the same key, so the provider never charges twice. */
export const chargeKey = (orderId: string) => `order-${orderId}`;
/** A cancelled or failed order's refund (what is left of its charge): one per order. */
export const refundKey = (orderId: string) => `refund-${orderId}`;
/** A return's refund: one per return, so two returns of one order are two refunds and a retry of either is neither. */
export const returnRefundKey = (returnId: string) => `return-${returnId}`;
