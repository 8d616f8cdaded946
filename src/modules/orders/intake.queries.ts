import type { Executor } from '../../db/client.ts';
import type { OrderStatus } from './order-state.ts';
import type { OrderRow } from './orders.queries.ts';

/** An order stored under an idempotency key: enough to answer its acceptance again. */
export type KeyedOrder = Pick<OrderRow, 'id' | 'customerId' | 'items' | 'allocations' | 'total' | 'lastError' | 'createdAt'> & {
  scope: string;
  key: string;
  requestHash: string;
  bornStatus: OrderStatus;
};

export function findKeyed(tx: Executor, keys: { scope: string; key: string }[]) {
  if (keys.length === 0) return Promise.resolve([] as KeyedOrder[]);
  return tx<KeyedOrder[]>`
    SELECT o.id, o.idempotency_scope AS scope, o.idempotency_key AS key, o.request_hash AS "requestHash", o.customer_id AS "customerId",
           o.born_status AS "bornStatus", o.items, o.allocations, o.total::text AS total, o.last_error AS "lastError", o.created_at AS "createdAt"
    FROM orders o
    JOIN unnest(${keys.map((k) => k.scope)}::text[], ${keys.map((k) => k.key)}::text[]) AS k(scope, key)
      ON o.idempotency_scope = k.scope AND o.idempotency_key = k.key
    -- Indexable conditions on orders (see updateOrders): the join alone may be planned as a scan of every order.
    WHERE o.idempotency_key = ANY(${keys.map((k) => k.key)}::text[]) AND o.idempotency_scope = ANY(${keys.map((k) => k.scope)}::text[])`;
}
