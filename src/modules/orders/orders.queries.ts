import { iso, type Executor } from '../../db/client.ts';
import { documentColumns, type Documents } from './documents.queries.ts';
import type { LineAllocation, OrderItem, OrderStatus, PaymentStatus } from './order-state.ts';

/** Reads of orders for the API. */

export type OrderRow = {
  id: string;
  customerId: string;
  status: OrderStatus;
  items: OrderItem[];
  /** Where its lines' units are (or were) held; null before it was reserved, or when reserved by code before locations. */
  allocations: LineAllocation[] | null;
  /** The locations it may take its stock from; null: any active one. */
  locationIds: string[] | null;
  total: string;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  paymentStatus: PaymentStatus | null;
  paymentReference: string | null;
  paymentAttempts: number;
  /** What the provider refunded so far (succeeded refunds only). */
  refunded: string;
  version: number;
  createdAt: string;
  updatedAt: string;
};

const orderColumns = (executor: Executor) => executor`
  o.id, o.customer_id AS "customerId", o.status, o.items, o.allocations, o.location_ids::text[] AS "locationIds", o.total::text AS total, o.attempts,
  o.next_attempt_at AS "nextAttemptAt", o.last_error AS "lastError", o.payment_status AS "paymentStatus",
  o.payment_reference AS "paymentReference", o.payment_attempts AS "paymentAttempts", o.refunded::text AS refunded, o.version,
  o.created_at AS "createdAt", o.updated_at AS "updatedAt"`;

/** An order with its fulfilments and returns, read in one statement. */
export type OrderWithDocuments = OrderRow & Documents;

export async function findOrder(sql: Executor, id: string): Promise<OrderWithDocuments | undefined> {
  const [row] = await sql<OrderWithDocuments[]>`SELECT ${orderColumns(sql)}, ${documentColumns(sql)} FROM orders o WHERE o.id = ${id}`;
  return row;
}

export type OrderFilter = { status?: OrderStatus; customerId?: string; beforeId?: string; limit: number };

/**
 * Newest first (ids are time-ordered UUIDv7); `beforeId` is the cursor. A customer's orders come
 * from `orders_customer_idx`; a status filter alone walks the primary key backwards (no index on
 * status, so that a change of status never has to update one).
 */
export function listOrders(sql: Executor, filter: OrderFilter) {
  return sql<OrderWithDocuments[]>`
    SELECT ${orderColumns(sql)}, ${documentColumns(sql)} FROM orders o
    WHERE true
      ${filter.status ? sql`AND o.status = ${filter.status}` : sql``}
      ${filter.customerId ? sql`AND o.customer_id = ${filter.customerId}` : sql``}
      ${filter.beforeId ? sql`AND o.id < ${filter.beforeId}` : sql``}
    ORDER BY o.id DESC LIMIT ${filter.limit}`;
}

/** One row per status that has orders (a scan of the table: there is no index on status). */
export function countOrdersByStatus(sql: Executor) {
  return sql<{ status: OrderStatus; count: number }[]>`SELECT status, count(*)::int AS count FROM orders GROUP BY status`;
}

export type OrderLogRow = { id: string; orderId: string; status: OrderStatus; message: string; errorMessage: string | null; processedAt: string };

type Steps = {
  createdAt: string;
  reservedAt: string | null;
  processedAt: string | null;
  shippedAt: string | null;
  paymentReference: string | null;
  createdUs: string;
  reservedUs: string | null;
  processedUs: string | null;
  shippedUs: string | null;
};

/**
 * An order's whole story, oldest first: the normal steps (accepted, reserved, paid, shipped) from
 * the order's own timestamps, merged with the rows written for everything else (failed attempts,
 * failures, cancels, refunds). Undefined for an unknown order.
 */
export async function orderLog(sql: Executor, orderId: string): Promise<OrderLogRow[] | undefined> {
  // Sorted on microseconds: several entries can share the millisecond an ISO timestamp shows.
  const [[steps], rows] = await Promise.all([
    sql<Steps[]>`
      SELECT created_at AS "createdAt", reserved_at AS "reservedAt", processed_at AS "processedAt", shipped_at AS "shippedAt",
             payment_reference AS "paymentReference",
             ${micros(sql, 'created_at')} AS "createdUs", ${micros(sql, 'reserved_at')} AS "reservedUs",
             ${micros(sql, 'processed_at')} AS "processedUs", ${micros(sql, 'shipped_at')} AS "shippedUs"
      FROM orders WHERE id = ${orderId}`,
    sql<(OrderLogRow & { us: string })[]>`
      SELECT id::text, order_id AS "orderId", status, message, error_message AS "errorMessage", processed_at AS "processedAt",
             ${micros(sql, 'processed_at')} AS us
      FROM order_logs WHERE order_id = ${orderId} ORDER BY id`,
  ]);
  if (!steps) return undefined;
  const entries = [...derivedEntries(orderId, steps), ...rows.map(({ us, ...row }) => ({ us: BigInt(us), row: { ...row, processedAt: iso(row.processedAt) } }))];
  // Stable: at one instant a normal step comes before what was written about it.
  return entries
    .map((entry, i) => ({ ...entry, i }))
    .sort((a, b) => (a.us < b.us ? -1 : a.us > b.us ? 1 : a.i - b.i))
    .map(({ row }) => row);
}

const micros = (sql: Executor, column: string) => sql`(extract(epoch FROM ${sql(column)}) * 1000000)::bigint::text`;

function derivedEntries(orderId: string, steps: Steps): { us: bigint; row: OrderLogRow }[] {
  const entry = (id: string, status: OrderStatus, message: string, at: string, us: string) => ({
    us: BigInt(us),
    row: { id, orderId, status, message, errorMessage: null, processedAt: iso(at) },
  });
  const bornReserved = steps.reservedUs !== null && steps.reservedUs === steps.createdUs;
  // An order born short of stock also has the row of that first failed attempt.
  const entries = [
    bornReserved
      ? entry('accepted', 'reserved', 'order accepted; stock reserved', steps.createdAt, steps.createdUs)
      : entry('accepted', 'pending', 'order accepted', steps.createdAt, steps.createdUs),
  ];
  if (steps.reservedAt && steps.reservedUs && !bornReserved) entries.push(entry('reserved', 'reserved', 'stock reserved', steps.reservedAt, steps.reservedUs));
  if (steps.processedAt && steps.processedUs) {
    const paid = steps.paymentReference === null ? 'paid' : `paid (charge ${steps.paymentReference})`;
    entries.push(entry('processed', 'processed', `${paid}; stock deducted`, steps.processedAt, steps.processedUs));
  }
  if (steps.shippedAt && steps.shippedUs) entries.push(entry('shipped', 'shipped', 'shipped', steps.shippedAt, steps.shippedUs));
  return entries;
}
