import type { Executor } from '../../db/client.ts';
import type { OrderItem, OrderStatus, PaymentStatus } from './order-state.ts';

export type OrderRow = {
  id: string;
  customerId: string;
  status: OrderStatus;
  total: string;
  attempts: number;
  nextAttemptAt: string;
  lastError: string | null;
  paymentStatus: PaymentStatus | null;
  paymentReference: string | null;
  paymentAttempts: number;
  version: number;
  createdAt: string;
  updatedAt: string;
  items: (OrderItem & { unitPrice: string })[];
};

const orderColumns = (executor: Executor) => executor`
  o.id, o.customer_id AS "customerId", o.status, o.total::text AS total, o.attempts,
  o.next_attempt_at AS "nextAttemptAt", o.last_error AS "lastError", o.payment_status AS "paymentStatus",
  o.payment_reference AS "paymentReference", o.payment_attempts AS "paymentAttempts", o.version,
  o.created_at AS "createdAt", o.updated_at AS "updatedAt",
  (SELECT json_agg(json_build_object('productId', i.product_id, 'quantity', i.quantity, 'unitPrice', i.unit_price::text) ORDER BY i.line)
   FROM order_items i WHERE i.order_id = o.id) AS items`;

export async function findOrder(sql: Executor, id: string): Promise<OrderRow | undefined> {
  const [row] = await sql<OrderRow[]>`SELECT ${orderColumns(sql)} FROM orders o WHERE o.id = ${id}`;
  return row;
}

export type OrderFilter = { status?: OrderStatus; customerId?: string; beforeId?: string; limit: number };

/** Newest first (ids are time-ordered UUIDv7); `beforeId` is the cursor. */
export function listOrders(sql: Executor, filter: OrderFilter) {
  return sql<OrderRow[]>`
    SELECT ${orderColumns(sql)} FROM orders o
    WHERE true
      ${filter.status ? sql`AND o.status = ${filter.status}` : sql``}
      ${filter.customerId ? sql`AND o.customer_id = ${filter.customerId}` : sql``}
      ${filter.beforeId ? sql`AND o.id < ${filter.beforeId}` : sql``}
    ORDER BY o.id DESC LIMIT ${filter.limit}`;
}

/** One row per status that has orders (`orders_status_idx` covers it). */
export function countOrdersByStatus(sql: Executor) {
  return sql<{ status: OrderStatus; count: number }[]>`SELECT status, count(*)::int AS count FROM orders GROUP BY status`;
}

export type OrderLogRow = { id: string; orderId: string; status: OrderStatus; message: string; errorMessage: string | null; processedAt: string };

export function listOrderLogs(sql: Executor, orderId: string) {
  return sql<OrderLogRow[]>`
    SELECT id::text, order_id AS "orderId", status, message, error_message AS "errorMessage", processed_at AS "processedAt"
    FROM order_logs WHERE order_id = ${orderId} ORDER BY order_logs.id`;
}
