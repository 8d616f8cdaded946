import { iso } from '../../db/client.ts';
import type { Born } from './intake-batch.ts';
import type { Order } from './orders.models.ts';
import { DEFAULT_LOCATION_ID } from '../../db/schema/locations.ts';
import { documentsOf, noDocuments, type Documents } from './documents.queries.ts';
import { isFinal, type LineAllocation, type OrderItem, type OrderStatus } from './order-state.ts';
import type { OrderRow, OrderWithDocuments } from './orders.queries.ts';

const NOTHING_REFUNDED = '0.00';

/**
 * The lines with where their units are held (an empty list for a line held nowhere yet), and how
 * many of them have shipped and come back: the sums of its documents, except that an order shipped
 * before fulfilments existed (it has none) shipped every unit.
 */
export function itemsView(items: readonly OrderItem[], allocations: readonly LineAllocation[] | null, status: OrderStatus, docs: Documents): Order['items'] {
  const count = (lists: { items: { productId: string; quantity: number }[] }[], productId: string) =>
    lists.reduce((n, doc) => n + doc.items.reduce((m, item) => m + (item.productId === productId ? item.quantity : 0), 0), 0);
  const shippedAll = status === 'shipped' && docs.fulfilments.length === 0;
  return items.map(({ productId, quantity, unitPrice }) => ({
    productId,
    quantity,
    unitPrice,
    allocations: (allocations ?? []).filter((a) => a.productId === productId).map(({ locationId, quantity: units }) => ({ locationId, quantity: units })),
    shipped: shippedAll ? quantity : count(docs.fulfilments, productId),
    returned: count(docs.returns, productId),
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
    items: itemsView(facts.items, born.allocations, born.status, noDocuments()),
    total: facts.total,
    attempts: born.attempts,
    nextAttemptAt: isFinal(born.status) ? null : new Date(Date.parse(facts.createdAt) + (born.nextAttemptInMs ?? 0)).toISOString(),
    lastError: born.lastError,
    payment: null,
    ...noDocuments(),
    refunded: NOTHING_REFUNDED,
    createdAt: facts.createdAt,
    updatedAt: facts.createdAt,
  };
}

/** The order as it is now, with its fulfilments and returns. */
export function orderView(row: OrderWithDocuments): Order {
  const docs = documentsOf(row);
  return {
    id: row.id,
    customerId: row.customerId,
    status: row.status,
    items: itemsView(row.items, allocationsOf(row), row.status, docs),
    total: row.total,
    attempts: row.attempts,
    nextAttemptAt: isFinal(row.status) || row.status === 'processed' ? null : iso(row.nextAttemptAt),
    lastError: row.lastError,
    payment: row.paymentStatus === null ? null : { status: row.paymentStatus, reference: row.paymentReference, attempts: row.paymentAttempts },
    fulfilments: docs.fulfilments,
    returns: docs.returns,
    refunded: row.refunded,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}
