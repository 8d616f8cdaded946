import { iso } from '../../db/client.ts';
import type { Born } from './intake-batch.ts';
import type { Order } from './orders.models.ts';
import { isFinal } from './order-state.ts';
import type { OrderRow } from './orders.queries.ts';

/** The order as answered at acceptance (202); an idempotent replay answers it again. */
export function acceptanceView(born: Born): Order {
  const { facts } = born;
  return {
    id: facts.id,
    customerId: facts.customerId,
    status: born.status,
    items: facts.items.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice })),
    total: facts.total,
    attempts: born.attempts,
    nextAttemptAt: isFinal(born.status) ? null : new Date(Date.parse(facts.createdAt) + (born.nextAttemptInMs ?? 0)).toISOString(),
    lastError: born.lastError,
    payment: null,
    createdAt: facts.createdAt,
    updatedAt: facts.createdAt,
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
