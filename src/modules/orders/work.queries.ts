import { at, type Executor, type Sql } from '../../db/client.ts';
import { outboxText } from '../../db/outbox.ts';
import { insertEventRecords } from '../events/events.queries.ts';
import { orderRecord } from '../events/records.ts';
import { orderStateColumns, type OrderState } from './lifecycle.queries.ts';
import type { LineAllocation, OrderStatus, PaymentStatus } from './order-state.ts';

/**
 * The durable side of order work outside stock transactions: claiming what is due or abandoned,
 * handing leases back, pruning old idempotency keys, and the provider follow-ups (reconcile). The
 * worker's in-memory queues only ever hold what these return.
 */
/** A claimed order whole, as of the claim's version: its next step may be decided without reading it again (order-memory.ts). */
export type ClaimedOrder = OrderState;

/**
 * - `due`: a retry whose time has come (nobody holds it);
 * - `abandoned`: held by a lease that expired, or by a process whose heartbeat stopped;
 * - `any`: both (start-up, and the moment a retry falls due).
 */
export type ClaimKind = 'due' | 'abandoned' | 'any';


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
    SET lease_owner = ${options.owner}, lease_until = ${asOf} + ${options.leaseMs} * interval '1 millisecond', version = o.version + 1
    FROM due WHERE o.id = due.id
    RETURNING ${orderStateColumns(sql)}`;
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
    RETURNING ${orderStateColumns(sql)}`;
}

/** A clean stop: this process's leases go back, so another process (or the next start) resumes at once. */
export async function releaseLeases(sql: Executor, owner: string): Promise<void> {
  await sql`UPDATE orders SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ${owner} AND status IN ('pending', 'reserved')`;
}

/** Idempotency keys are kept 24 h (API.md); older ones are let go, a capped batch at a time (the order stays). */
export async function pruneIdempotencyKeys(sql: Executor, options: { olderThanMs: number; limit: number; asOf?: Date }): Promise<number> {
  const rows = await sql`
    UPDATE orders SET idempotency_scope = NULL, idempotency_key = NULL, request_hash = NULL
    WHERE id IN (
      SELECT id FROM orders
      WHERE idempotency_key IS NOT NULL AND created_at < ${at(sql, options.asOf)} - ${options.olderThanMs} * interval '1 millisecond'
      ORDER BY created_at LIMIT ${options.limit})
    RETURNING 1`;
  return rows.length;
}

export type ReconcileItem = {
  id: string;
  status: OrderStatus;
  total: string;
  paymentStatus: PaymentStatus | null;
  reconcileAttempts: number;
  /** Past the horizon: this look is the last automatic one. */
  lastChance: boolean;
};

/**
 * Claims orders whose payment must be checked again (a refund owed, a charge that may land after
 * the order moved on) by pushing their `reconcile_at` ahead: a visibility timeout, so a process
 * that dies mid-way leaves them for the next sweep.
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
    RETURNING o.id, o.status, o.total::text AS total, o.payment_status AS "paymentStatus", o.reconcile_attempts AS "reconcileAttempts",
              coalesce(o.reconcile_until <= ${asOf}, false) AS "lastChance"`;
}

/** The provider must be asked about this order now (a charge landed on an order that moved on). */
export async function reconcileSoon(sql: Executor, orderId: string, horizonMs: number): Promise<void> {
  await sql`
    UPDATE orders SET reconcile_at = now(), reconcile_until = coalesce(reconcile_until, now() + ${horizonMs} * interval '1 millisecond')
    WHERE id = ${orderId}`;
}

export type ReconcileResult = {
  id: string;
  /** Next look after this long; null: nothing more to ask the provider. */
  nextInMs: number | null;
  attempts: number;
  /** The payment as the provider now has it (a refund issued, a charge found), and what a refund gave back. */
  payment?: { status: PaymentStatus; reference: string; refunded?: string };
  /** Why a person must look at this order. */
  attention?: string;
  log?: string;
};

/**
 * What a look at the provider came to. A change of the payment is a change of the order: its
 * version moves on and the outbox gets its record, in the same transaction.
 */
export async function finishReconcile(sql: Sql, result: ReconcileResult): Promise<void> {
  const payment = result.payment ?? null;
  await sql.begin(async (tx) => {
    const [row] = await tx<{ id: string; status: OrderStatus; version: number; attempts: number; lastError: string | null; paymentAttempts: number; allocations: LineAllocation[] | null; refunded: string }[]>`
      UPDATE orders SET
        -- Once per refund: a look that finds it already recorded (payment refunded) adds nothing.
        refunded = refunded + CASE WHEN payment_status IS DISTINCT FROM 'refunded' THEN coalesce(${payment?.refunded ?? null}::numeric, 0) ELSE 0 END,
        payment_status = coalesce(${payment?.status ?? null}::text, payment_status),
        payment_reference = coalesce(${payment?.reference ?? null}::text, payment_reference),
        reconcile_at = CASE WHEN ${result.nextInMs}::int IS NULL THEN NULL ELSE now() + ${result.nextInMs ?? 0} * interval '1 millisecond' END,
        reconcile_until = CASE WHEN ${result.nextInMs}::int IS NULL THEN NULL ELSE reconcile_until END,
        reconcile_attempts = ${result.attempts},
        attention = coalesce(${result.attention ?? null}::text, attention),
        version = version + CASE WHEN ${payment !== null} THEN 1 ELSE 0 END,
        updated_at = CASE WHEN ${payment !== null} THEN now() ELSE updated_at END
      WHERE id = ${result.id}
      RETURNING id, status, version, attempts, last_error AS "lastError", payment_attempts AS "paymentAttempts", allocations, refunded::text AS refunded`;
    if (!row) return;
    const writes: Promise<unknown>[] = [];
    if (result.log !== undefined) writes.push(tx`INSERT INTO order_logs (order_id, status, message) VALUES (${row.id}, ${row.status}, ${result.log})`.execute());
    if (payment) {
      const record = orderRecord({ ...row, previous: row.status, payment: { status: payment.status, reference: payment.reference, attempts: row.paymentAttempts }, nextAttemptInMs: null });
      writes.push(insertEventRecords(tx, [outboxText({ orders: [record] })!]));
    }
    await Promise.all(writes);
  });
}

/**
 * Open orders this incarnation holds that it is no longer working on (an answer lost with the
 * connection: the write committed, the process never heard): their leases go back and the next
 * sweep takes them up. Returns how many.
 */
export async function releaseLost(sql: Executor, owner: string, working: ReadonlySet<string>): Promise<number> {
  const rows = await sql`
    UPDATE orders SET lease_owner = NULL, lease_until = NULL, next_attempt_at = least(next_attempt_at, now())
    WHERE lease_owner = ${owner} AND status IN ('pending', 'reserved') AND id <> ALL(${[...working]}::uuid[])
    RETURNING 1`;
  return rows.length;
}
