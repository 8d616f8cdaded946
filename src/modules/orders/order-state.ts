import { orderStatuses } from '../../db/schema/orders.ts';

/**
 * The order state machine (API.md):
 *
 *   pending ──reserve──▶ reserved ──pay──▶ processed ──ship──▶ shipped
 *     │ ▲ retry (backoff)   │                   │
 *     │ └──────┘            │                   │
 *     ├─ stock short, attempts used up ─▶ failed ◀─ payment gave up (reservation released)
 *     └─ cancel ─▶ cancelled ◀─ cancel ─ reserved, processed (released / restocked and refunded)
 *
 * `failed`, `cancelled` and `shipped` are final. Stock moves with the status, in the same
 * transaction: `reserved` holds `quantity` in `inventory_levels.reserved`; `processed` has taken
 * it out of `on_hand`.
 */
export type OrderStatus = (typeof orderStatuses)[number];
export { orderStatuses };

export const finalStatuses: ReadonlySet<OrderStatus> = new Set(['failed', 'cancelled', 'shipped']);

export const isFinal = (status: OrderStatus) => finalStatuses.has(status);

/** What happened to the payment of an order, as shown in `payment.status`. */
export type PaymentStatus = 'pending' | 'succeeded' | 'declined' | 'failed' | 'refund_pending' | 'refunded';

export type OrderItem = { productId: string; quantity: number };
