import { orderStatuses, type LineAllocation, type OrderItem } from '../../db/schema/orders.ts';

/**
 * The order state machine (API.md):
 *
 *   pending ──reserve──▶ reserved ──pay──▶ processed ──ship (its last unit)──▶ shipped
 *     │ ▲ retry (backoff)   │ ▲ payment retry     │ ▲ a fulfilment, a return  │ ▲ a return
 *     │ └──────┘            │ └──────┘            │ └──────┘                  │ └──────┘
 *     ├─ stock short, attempts used up ─▶ failed ◀─ payment gave up (reservation released)
 *     └─ cancel ─▶ cancelled ◀─ cancel ─ reserved, processed with nothing shipped (released / restocked and refunded)
 *
 * An order whose stock is there when it is accepted is born `reserved`; otherwise `pending` (or
 * `failed` when ORDER_MAX_ATTEMPTS is 1). `failed`, `cancelled` and `shipped` are final (a shipped
 * order still takes returns, which change no status). Stock moves with the status, in the same
 * transaction: `reserved` holds its quantities in `inventory_levels.reserved`; `processed` has
 * taken them out of `on_hand` (awaiting shipment until its fulfilments take them away).
 */
export type OrderStatus = (typeof orderStatuses)[number];
export { orderStatuses, type LineAllocation, type OrderItem };

/** Every change of status an order may make; a step that stays in its status is a retry, a fulfilment or a return. */
export const transitions: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending: ['reserved', 'pending', 'failed', 'cancelled'],
  reserved: ['processed', 'reserved', 'failed', 'cancelled'],
  processed: ['processed', 'shipped', 'cancelled'],
  shipped: ['shipped'],
  failed: [],
  cancelled: [],
};

export function canMove(from: OrderStatus, to: OrderStatus): boolean {
  return transitions[from].includes(to);
}

export const finalStatuses: ReadonlySet<OrderStatus> = new Set(['failed', 'cancelled', 'shipped']);

export const isFinal = (status: OrderStatus) => finalStatuses.has(status);

/** What happened to the payment of an order, as shown in `payment.status`. */
export type PaymentStatus = 'pending' | 'succeeded' | 'declined' | 'failed' | 'refund_pending' | 'refunded';


/** What never changes once an order is stored. */
export type OrderFacts = { id: string; customerId: string; items: OrderItem[]; total: string; createdAt: string };
