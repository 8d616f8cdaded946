import { iso } from '../../db/client.ts';
import type { Born } from './intake-batch.ts';
import type { Order } from './orders.models.ts';
import { DEFAULT_LOCATION_ID } from '../../db/schema/locations.ts';
import { isFinal, type LineAllocation, type OrderItem } from './order-state.ts';
import type { OrderRow } from './orders.queries.ts';

/** The lines with where their units are held (an empty list for a line held nowhere yet). */
export function itemsWithAllocations(items: readonly OrderItem[], allocations: readonly LineAllocation[] | null): Order['items'] {
  return items.map(({ productId, quantity, unitPrice }) => ({
    productId,
    quantity,
    unitPrice,
    allocations: (allocations ?? []).filter((a) => a.productId === productId).map(({ locationId, quantity: units }) => ({ locationId, quantity: units })),
  }));
}

/** Orders reserved by code before locations recorded no allocations: they held everything at the default location. */
function allocationsOf(row: OrderRow): LineAllocation[] | null {
  if (row.allocations || !['reserved', 'processed', 'shipped'].includes(row.status)) return row.allocations;
  return row.items.map((item) => ({ productId: item.productId, locationId: DEFAULT_LOCATION_ID, quantity: item.quantity }));
}

/** The order as answered at acceptance (202); an idempotent replay answers it again. */
export function acceptanceView(born: Born): Order {
  const { facts } = born;
  return {
    id: facts.id,
    customerId: facts.customerId,
    status: born.status,
    items: itemsWithAllocations(facts.items, born.allocations),
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
    items: itemsWithAllocations(row.items, allocationsOf(row)),
    total: row.total,
    attempts: row.attempts,
    nextAttemptAt: isFinal(row.status) || row.status === 'processed' ? null : iso(row.nextAttemptAt),
    lastError: row.lastError,
    payment: row.paymentStatus === null ? null : { status: row.paymentStatus, reference: row.paymentReference, attempts: row.paymentAttempts },
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}
