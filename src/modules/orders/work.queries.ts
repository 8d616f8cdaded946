import { at, type Executor } from '../../db/client.ts';
import type { OrderItem, OrderStatus, PaymentStatus } from './order-state.ts';

/**
 * The durable side of order work: claiming what is due or abandoned, recording payment retries,
 * and the provider follow-ups (reconcile). In-memory queues only ever hold what these return.
 */
export type ClaimedOrder = {
  id: string;
  status: OrderStatus;
  version: number;
  total: string;
  paymentAttempts: number;
  items: OrderItem[];
};

/**
 * - `due`: a retry whose time has come (nobody holds it);
 * - `abandoned`: held by a lease that expired, or by a process whose heartbeat stopped;
 * - `any`: both (start-up, and the moment a retry falls due).
 */
export type ClaimKind = 'due' | 'abandoned' | 'any';

/** What a claim hands the pipeline: enough to resume the order from its status. */
const claimedColumns = (sql: Executor) => sql`
  o.id, o.status, o.version, o.total::text AS total, o.payment_attempts AS "paymentAttempts",
  (SELECT json_agg(json_build_object('productId', i.product_id, 'quantity', i.quantity) ORDER BY i.line)
   FROM order_items i WHERE i.order_id = o.id) AS items`;

export type ClaimOptions = {
  kind?: ClaimKind;
  owner: string;
  leaseMs: number;
  /** A lease whose owner has not sent a heartbeat for this long is void. */
  heartbeatTtlMs: number;
  limit: number;
  /** "Now" for the claim (the database clock unless a test injects one). */
  asOf?: Date;
};

/**
 * Claims due orders in a non-final state whose lease is free, expired, or held by a process that
 * stopped sending heartbeats. `SKIP LOCKED` lets several processes claim at once without waiting
 * on each other; the version bump fences out whoever held the order before.
 */
export function claimDueOrders(sql: Executor, options: ClaimOptions) {
  const asOf = at(sql, options.asOf);
  const free = sql`o.lease_owner IS NULL`;
  const abandoned = sql`o.lease_owner IS NOT NULL AND (o.lease_until < ${asOf} OR NOT EXISTS (
    SELECT 1 FROM nodes n
    WHERE n.incarnation = o.lease_owner AND n.heartbeat_at > ${asOf} - ${options.heartbeatTtlMs} * interval '1 millisecond'))`;
  const kind = options.kind ?? 'any';
  const claimable = kind === 'due' ? free : kind === 'abandoned' ? abandoned : sql`(${free}) OR (${abandoned})`;
  return sql<ClaimedOrder[]>`
    WITH due AS (
      SELECT o.id FROM orders o
      WHERE o.status IN ('pending', 'reserved') AND o.next_attempt_at <= ${asOf} AND (${claimable})
      ORDER BY o.next_attempt_at
      LIMIT ${options.limit}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE orders o
    SET lease_owner = ${options.owner}, lease_until = ${asOf} + ${options.leaseMs} * interval '1 millisecond',
        version = o.version + 1, updated_at = now()
    FROM due WHERE o.id = due.id
    RETURNING ${claimedColumns(sql)}`;
}

export type PaymentRetry = { id: string; version: number; attempts: number; error: string; delayMs: number; maxAttempts: number };

/**
 * A payment attempt that failed but will be retried: the order stays `reserved`, the lease is let
 * go and `next_attempt_at` says when any process may take it up again. Returns the ids written
 * (an order someone else changed meanwhile is left alone).
 */
export async function recordPaymentRetries(sql: Executor, retries: PaymentRetry[]): Promise<Set<string>> {
  const rows = await sql<{ id: string }[]>`
    WITH r AS (
      UPDATE orders o
      SET payment_status = 'pending', payment_attempts = u.attempts, last_error = u.error,
          next_attempt_at = now() + u.delay_ms * interval '1 millisecond',
          lease_owner = NULL, lease_until = NULL, version = o.version + 1, updated_at = now()
      FROM unnest(${retries.map((r) => r.id)}::uuid[], ${retries.map((r) => r.version)}::int[], ${retries.map((r) => r.attempts)}::int[],
                  ${retries.map((r) => r.error)}::text[], ${retries.map((r) => r.delayMs)}::int[], ${retries.map((r) => r.maxAttempts)}::int[])
        AS u(id, version, attempts, error, delay_ms, max_attempts)
      WHERE o.id = u.id AND o.version = u.version AND o.status = 'reserved'
      RETURNING o.id, u.attempts, u.max_attempts, u.error, u.delay_ms
    ), l AS (
      INSERT INTO order_logs (order_id, status, message, error_message)
      SELECT id, 'reserved', 'payment attempt ' || attempts || ' of ' || max_attempts || ' failed; retrying in ' || delay_ms || ' ms', error FROM r
    ), e AS (
      INSERT INTO events (changes)
      SELECT jsonb_agg(jsonb_build_object('type', 'order.status', 'orderId', id, 'status', 'reserved', 'previous', 'reserved', 'error', error)) FROM r
      HAVING count(*) > 0
    )
    SELECT id FROM r`;
  return new Set(rows.map((r) => r.id));
}

/**
 * Takes over reserved orders that have made no progress for `stuckMs`, whoever holds them (a
 * worker that is alive but wedged keeps its lease): their stock goes back to sale.
 */
export function claimStuckReservations(sql: Executor, options: { owner: string; leaseMs: number; stuckMs: number; limit: number; asOf?: Date }) {
  const asOf = at(sql, options.asOf);
  return sql<ClaimedOrder[]>`
    WITH stuck AS (
      SELECT id FROM orders
      WHERE status = 'reserved' AND updated_at < ${asOf} - ${options.stuckMs} * interval '1 millisecond'
      ORDER BY updated_at LIMIT ${options.limit}
      FOR UPDATE SKIP LOCKED
    )
    UPDATE orders o
    SET lease_owner = ${options.owner}, lease_until = ${asOf} + ${options.leaseMs} * interval '1 millisecond', version = o.version + 1
    FROM stuck WHERE o.id = stuck.id
    RETURNING ${claimedColumns(sql)}`;
}

/** Idempotency keys are kept 24 h (API.md); older ones go, a capped batch at a time. */
export async function pruneIdempotencyKeys(sql: Executor, options: { olderThanMs: number; limit: number; asOf?: Date }): Promise<number> {
  const rows = await sql`
    DELETE FROM idempotency_keys WHERE key IN (
      SELECT key FROM idempotency_keys
      WHERE created_at < ${at(sql, options.asOf)} - ${options.olderThanMs} * interval '1 millisecond'
      ORDER BY created_at LIMIT ${options.limit})
    RETURNING 1`;
  return rows.length;
}

export type ReconcileItem = {
  id: string;
  status: OrderStatus;
  version: number;
  total: string;
  paymentStatus: PaymentStatus | null;
};

/**
 * Claims orders whose payment must be checked again (a refund owed, a charge that may have landed
 * after the order gave up) by pushing their `reconcile_at` ahead: a visibility timeout, so a
 * process that dies mid-way leaves them for the next sweep.
 */
export function claimReconcile(sql: Executor, options: { limit: number; holdMs: number; asOf?: Date }) {
  const asOf = at(sql, options.asOf);
  return sql<ReconcileItem[]>`
    WITH due AS (
      SELECT id FROM orders WHERE reconcile_at <= ${asOf}
      ORDER BY reconcile_at LIMIT ${options.limit} FOR UPDATE SKIP LOCKED
    )
    UPDATE orders o SET reconcile_at = ${asOf} + ${options.holdMs} * interval '1 millisecond'
    FROM due WHERE o.id = due.id
    RETURNING o.id, o.status, o.version, o.total::text AS total, o.payment_status AS "paymentStatus"`;
}

/** Outcome of a reconcile: refunded, nothing to do, or ask again later. */
export async function finishReconcile(
  sql: Executor,
  item: { id: string; paymentStatus?: PaymentStatus; paymentReference?: string; retryInMs?: number; log?: string },
) {
  await sql`
    WITH u AS (
      UPDATE orders SET
        payment_status = coalesce(${item.paymentStatus ?? null}::text, payment_status),
        payment_reference = coalesce(${item.paymentReference ?? null}::text, payment_reference),
        reconcile_at = CASE WHEN ${item.retryInMs ?? null}::int IS NULL THEN NULL ELSE now() + ${item.retryInMs ?? 0} * interval '1 millisecond' END,
        version = version + 1, updated_at = now()
      WHERE id = ${item.id}
      RETURNING id, status
    ), l AS (
      INSERT INTO order_logs (order_id, status, message) SELECT id, status, ${item.log ?? ''} FROM u WHERE ${item.log !== undefined}
    )
    SELECT 1`;
}
