import { at, type Executor, type Sql } from '../../db/client.ts';
import { outboxText } from '../../db/outbox.ts';
import { insertEventRecords } from '../events/events.queries.ts';
import { orderRecord } from '../events/records.ts';
import { readDocuments, noDocuments } from './documents.queries.ts';
import { orderStateColumns, type OrderState } from './lifecycle.queries.ts';

/**
 * The refunds of returns, outside stock transactions: claiming the ones whose provider call must be
 * made (again), and recording what the provider answered. Each return's refund has its own reconcile
 * slot (`refund_due_at`): a process that dies between a call and its record leaves it due, and the
 * next look makes the same call under the same key, which the provider answers with the refund it
 * already made.
 */
export type RefundItem = {
  returnId: string;
  orderId: string;
  /** The order's charge (null: it has none, which a return with a refund never lacks). */
  chargeId: string | null;
  key: string;
  amount: string;
  attempts: number;
  /** Past the horizon: this look is the last automatic one. */
  lastChance: boolean;
};

/** Claims due refunds by pushing their slot ahead (a visibility timeout: a process that dies mid-way leaves them for the next sweep). */
export function claimRefunds(sql: Executor, options: { limit: number; holdMs: number; asOf?: Date }) {
  const asOf = at(sql, options.asOf);
  return sql<RefundItem[]>`
    WITH due AS (
      SELECT id FROM returns WHERE refund_due_at <= ${asOf}
      ORDER BY refund_due_at LIMIT ${options.limit} FOR UPDATE SKIP LOCKED
    )
    UPDATE returns r SET refund_due_at = ${asOf} + ${options.holdMs} * interval '1 millisecond'
    FROM due, orders o WHERE r.id = due.id AND o.id = r.order_id
    RETURNING r.id AS "returnId", r.order_id AS "orderId", o.payment_reference AS "chargeId", r.refund_key AS key, r.refund_amount::text AS amount,
              r.refund_attempts AS attempts, coalesce(r.refund_until <= ${asOf}, false) AS "lastChance"`;
}

/** The provider did not settle it this time: ask again after `delayMs`. */
export async function refundLater(sql: Executor, returnId: string, attempts: number, delayMs: number): Promise<void> {
  await sql`
    UPDATE returns SET refund_due_at = now() + ${delayMs} * interval '1 millisecond', refund_attempts = ${attempts}
    WHERE id = ${returnId} AND refund_status = 'pending'`;
}

/** Asking stops: a person must look (the refund stays pending, or failed when the provider refused it for good). */
export async function refundNeedsPerson(sql: Sql, returnId: string, attempts: number, reason: string, refused: boolean): Promise<void> {
  await settle(sql, returnId, { attempts, attention: reason, refused });
}

/** The provider refunded it (`reference`, `amount`): once, however often this is called for the return. */
export async function refundSucceeded(sql: Sql, returnId: string, attempts: number, refund: { reference: string; amount: string }): Promise<void> {
  await settle(sql, returnId, { attempts, refund });
}

/**
 * Ends a pending refund: succeeded (the order's `refunded` grows by what the provider refunded, never
 * past its total), refused for good, or left pending for a person. A change of the refund's status is
 * a change of the order: its version moves on and the outbox gets its record, with a log row, in the
 * same transaction. A refund that is no longer pending (recorded by another look) changes nothing.
 */
async function settle(sql: Sql, returnId: string, outcome: { attempts: number; refund?: { reference: string; amount: string }; attention?: string; refused?: boolean }) {
  const status = outcome.refund ? 'succeeded' : outcome.refused ? 'failed' : 'pending';
  await sql.begin(async (tx) => {
    const [ended] = await tx<{ orderId: string; amount: string }[]>`
      UPDATE returns SET refund_status = ${status}, refund_reference = coalesce(${outcome.refund?.reference ?? null}::text, refund_reference),
                         refund_due_at = NULL, refund_attempts = ${outcome.attempts}, refund_attention = ${outcome.attention ?? null}
      WHERE id = ${returnId} AND refund_status = 'pending'
      RETURNING order_id AS "orderId", refund_amount::text AS amount`;
    if (!ended) return;
    const message = outcome.refund
      ? `refund ${outcome.refund.reference} of ${outcome.refund.amount} for return ${returnId}`
      : `needs a person: the refund of ${ended.amount} for return ${returnId}: ${outcome.attention}`;
    const log = tx`INSERT INTO order_logs (order_id, status, message) SELECT id, status, ${message} FROM orders WHERE id = ${ended.orderId}`.execute();
    if (status === 'pending') {
      await log;
      return;
    }
    const added = outcome.refund?.amount ?? '0';
    const [order] = await tx<OrderState[]>`
      UPDATE orders o SET refunded = o.refunded + ${added}::numeric, version = o.version + 1, updated_at = now()
      WHERE o.id = ${ended.orderId} AND o.refunded + ${added}::numeric <= o.total
      RETURNING ${orderStateColumns(tx)}`;
    // Only a provider that refunded more than the order's total gets here: nothing is recorded, and the refund stays due for a person.
    if (!order) throw new Error(`invariant: a refund of ${added} would take order ${ended.orderId} past its total`);
    const docs = (await readDocuments(tx, [order.id])).get(order.id) ?? noDocuments();
    const payment = order.paymentStatus === null ? null : { status: order.paymentStatus, reference: order.paymentReference, attempts: order.paymentAttempts };
    const record = orderRecord({ ...order, previous: order.status, payment, nextAttemptInMs: null, ...docs });
    await Promise.all([log, insertEventRecords(tx, [outboxText({ orders: [record] })!])]);
  });
}
