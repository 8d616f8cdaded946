import type { WritePart } from '../../actors/stock.queries.ts';
import type { Executor } from '../../db/client.ts';
import type { LineAllocation, OrderStatus, PaymentStatus } from './order-state.ts';
import type { Stamp } from './transitions.ts';
import type { OrderRow } from './orders.queries.ts';

/**
 * Every write of an order in a stock transaction, as parts of the batch's one write statement
 * (stock.queries.ts `writeBatch`): the batch's new orders in one INSERT, its changed orders in one
 * UPDATE (fenced on the version read under the stock lock, or remembered).
 */

export type NewOrderRow = Pick<OrderRow, 'id' | 'customerId' | 'status' | 'items' | 'allocations' | 'locationIds' | 'total' | 'attempts' | 'lastError'> & {
  /** Delay until the order is due (a pending order's retry); 0: now. */
  nextDelayMs: number;
  leaseOwner: string | null;
  leaseMs: number;
  scope: string | null;
  key: string | null;
  hash: string | null;
};

/**
 * Stores the batch's new orders, with the log rows of those whose stock was short. A key taken
 * meanwhile by another process is skipped (`ON CONFLICT`) and the statement then fails with
 * SR001 (`stockroom_fence`): the batch is redone, and the key is a replay.
 */
export function insertOrders(tx: Executor, rows: NewOrderRow[], logs: LogRow[]): WritePart {
  const ctes = [
    tx`o_new AS (
      INSERT INTO orders (id, customer_id, status, born_status, items, allocations, location_ids, total, attempts, last_error, next_attempt_at,
                          lease_owner, lease_until, idempotency_scope, idempotency_key, request_hash, reserved_at)
      SELECT u.id, u.customer_id, u.status, u.status, u.items::jsonb, u.allocations::jsonb, CASE WHEN u.location_ids IS NULL THEN NULL ELSE string_to_array(u.location_ids, ',')::uuid[] END,
             u.total::numeric, u.attempts, u.last_error,
             now() + u.delay_ms * interval '1 millisecond', u.lease_owner,
             CASE WHEN u.lease_owner IS NULL THEN NULL ELSE now() + u.lease_ms * interval '1 millisecond' END,
             u.scope, u.key, u.hash, CASE WHEN u.status = 'reserved' THEN now() END
      FROM unnest(${rows.map((r) => r.id)}::uuid[], ${rows.map((r) => r.customerId)}::text[], ${rows.map((r) => r.status)}::text[],
                  ${rows.map((r) => JSON.stringify(r.items))}::text[], ${rows.map((r) => (r.allocations ? JSON.stringify(r.allocations) : null))}::text[],
                  ${rows.map((r) => r.locationIds?.join(',') ?? null)}::text[], ${rows.map((r) => r.total)}::text[], ${rows.map((r) => r.attempts)}::int[],
                  ${rows.map((r) => r.lastError)}::text[], ${rows.map((r) => r.nextDelayMs)}::int[], ${rows.map((r) => r.leaseOwner)}::uuid[],
                  ${rows.map((r) => r.leaseMs)}::int[], ${rows.map((r) => r.scope)}::text[], ${rows.map((r) => r.key)}::text[], ${rows.map((r) => r.hash)}::text[])
        AS u(id, customer_id, status, items, allocations, location_ids, total, attempts, last_error, delay_ms, lease_owner, lease_ms, scope, key, hash)
      ON CONFLICT (idempotency_scope, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
      RETURNING id)`,
  ];
  if (logs.length > 0) {
    ctes.push(tx`o_new_log AS (
      INSERT INTO order_logs (order_id, status, message, error_message)
      SELECT u.* FROM unnest(${logs.map((l) => l.orderId)}::uuid[], ${logs.map((l) => l.status)}::text[],
                             ${logs.map((l) => l.message)}::text[], ${logs.map((l) => l.errorMessage)}::text[]) AS u(order_id, status, message, error_message)
      WHERE u.order_id IN (SELECT id FROM o_new)
      RETURNING 1)`);
  }
  return { ctes, checks: [tx`stockroom_fence(${rows.length}, (SELECT count(*)::int FROM o_new))`] };
}

/** An order as a stock transaction reads it, under its products' locks. */
export type OrderState = Omit<OrderRow, 'nextAttemptAt' | 'updatedAt'>;

/** The columns of an `OrderState`, of `orders o`. */
export const orderStateColumns = (tx: Executor) => tx`
  o.id, o.version, o.status, o.customer_id AS "customerId", o.items, o.allocations, o.location_ids::text[] AS "locationIds", o.total::text AS total,
  o.created_at AS "createdAt", o.attempts, o.last_error AS "lastError", o.payment_status AS "paymentStatus", o.payment_reference AS "paymentReference",
  o.payment_attempts AS "paymentAttempts", o.refunded::text AS refunded`;

export function readOrderStates(tx: Executor, ids: string[]) {
  if (ids.length === 0) return Promise.resolve([] as OrderState[]);
  return tx<OrderState[]>`SELECT ${orderStateColumns(tx)} FROM orders o WHERE o.id = ANY(${ids}::uuid[])`;
}

/** The write of one changed order: its new state and version, and the version it was read at (the fence). */
export type OrderChange = {
  id: string;
  readVersion: number;
  /** One more than `readVersion` for each change this batch made to the order. */
  version: number;
  status: OrderStatus;
  attempts: number;
  lastError: string | null;
  paymentStatus: PaymentStatus | null;
  paymentReference: string | null;
  paymentAttempts: number;
  /** Delay until the order is next due (0: now). */
  nextDelayMs: number;
  leaseOwner: string | null;
  leaseMs: number;
  /** The provider must be asked about this order after this long (null: leave as it is). */
  reconcileDelayMs: number | null;
  /** The normal steps this batch took with the order, whose times it keeps. */
  stamps: Stamp[];
  /** Where its units are now held, when this batch allocated them (null: as they were). */
  allocations: LineAllocation[] | null;
};

export type LogRow = { orderId: string; status: OrderStatus; message: string; errorMessage: string | null };

/**
 * The batch's changed orders in one statement, with the log rows of what was not a normal step.
 * Fewer rows written than given means someone changed one meanwhile (a lease claim): the
 * statement fails with SR001 (`stockroom_fence`) and the caller redoes the batch on fresh rows.
 */
export function updateOrders(tx: Executor, changes: OrderChange[], logs: LogRow[], reconcileHorizonMs: number): WritePart {
  const ctes = [
    tx`o_upd AS (
      UPDATE orders o
      SET status = u.status, attempts = u.attempts, last_error = u.last_error,
          payment_status = u.payment_status, payment_reference = u.payment_reference, payment_attempts = u.payment_attempts,
          next_attempt_at = now() + u.delay_ms * interval '1 millisecond',
          lease_owner = u.lease_owner,
          lease_until = CASE WHEN u.lease_owner IS NULL THEN NULL ELSE now() + u.lease_ms * interval '1 millisecond' END,
          reconcile_at = CASE WHEN u.reconcile_ms IS NULL THEN o.reconcile_at
                              ELSE least(coalesce(o.reconcile_at, 'infinity'), now() + u.reconcile_ms * interval '1 millisecond') END,
          reconcile_until = CASE WHEN u.reconcile_ms IS NULL THEN o.reconcile_until
                                 ELSE coalesce(o.reconcile_until, now() + ${reconcileHorizonMs} * interval '1 millisecond') END,
          reserved_at = CASE WHEN 'reserved' = ANY(string_to_array(u.stamps, ',')) THEN now() ELSE o.reserved_at END,
          processed_at = CASE WHEN 'processed' = ANY(string_to_array(u.stamps, ',')) THEN now() ELSE o.processed_at END,
          shipped_at = CASE WHEN 'shipped' = ANY(string_to_array(u.stamps, ',')) THEN now() ELSE o.shipped_at END,
          allocations = coalesce(u.allocations::jsonb, o.allocations),
          version = u.version, updated_at = now()
      FROM unnest(${changes.map((c) => c.id)}::uuid[], ${changes.map((c) => c.readVersion)}::int[], ${changes.map((c) => c.version)}::int[], ${changes.map((c) => c.status)}::text[],
                  ${changes.map((c) => c.attempts)}::int[], ${changes.map((c) => c.lastError)}::text[], ${changes.map((c) => c.paymentStatus)}::text[],
                  ${changes.map((c) => c.paymentReference)}::text[], ${changes.map((c) => c.paymentAttempts)}::int[],
                  ${changes.map((c) => c.nextDelayMs)}::int[], ${changes.map((c) => c.leaseOwner)}::uuid[], ${changes.map((c) => c.leaseMs)}::int[],
                  ${changes.map((c) => c.reconcileDelayMs)}::int[], ${changes.map((c) => c.stamps.join(','))}::text[],
                  ${changes.map((c) => (c.allocations ? JSON.stringify(c.allocations) : null))}::text[])
        AS u(id, read_version, version, status, attempts, last_error, payment_status, payment_reference, payment_attempts,
             delay_ms, lease_owner, lease_ms, reconcile_ms, stamps, allocations)
      -- The ids again as a condition on orders alone: the index finds them without the join.
      WHERE o.id = ANY(${changes.map((c) => c.id)}::uuid[]) AND o.id = u.id AND o.version = u.read_version
      RETURNING 1)`,
  ];
  if (logs.length > 0) {
    ctes.push(tx`o_upd_log AS (
      INSERT INTO order_logs (order_id, status, message, error_message)
      SELECT * FROM unnest(${logs.map((l) => l.orderId)}::uuid[], ${logs.map((l) => l.status)}::text[],
                           ${logs.map((l) => l.message)}::text[], ${logs.map((l) => l.errorMessage)}::text[])
      RETURNING 1)`);
  }
  return { ctes, checks: [tx`stockroom_fence(${changes.length}, (SELECT count(*)::int FROM o_upd))`] };
}
