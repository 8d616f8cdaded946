import { iso } from '../../db/client.ts';
import type { Order } from './orders.models.ts';
import { isFinal } from './order-state.ts';
import type { OrderRow } from './orders.queries.ts';

/** The order as answered at acceptance (202); an idempotent replay answers exactly this again. */
export function acceptanceView(order: {
  id: string;
  customerId: string;
  total: string;
  items: { productId: string; quantity: number; unitPrice: string }[];
  createdAt: string;
}): Order {
  return {
    id: order.id,
    customerId: order.customerId,
    status: 'pending',
    items: order.items.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice })),
    total: order.total,
    attempts: 0,
    nextAttemptAt: order.createdAt,
    lastError: null,
    payment: null,
    createdAt: order.createdAt,
    updatedAt: order.createdAt,
  };
}

export function orderView(row: OrderRow): Order {
  return {
    id: row.id,
    customerId: row.customerId,
    status: row.status,
    items: row.items,
    total: row.total,
    attempts: row.attempts,
    nextAttemptAt: isFinal(row.status) || row.status === 'processed' ? null : iso(row.nextAttemptAt),
    lastError: row.lastError,
    payment: row.paymentStatus === null ? null : { status: row.paymentStatus, reference: row.paymentReference, attempts: row.paymentAttempts },
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}
