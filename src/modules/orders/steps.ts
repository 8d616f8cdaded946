import type { Applied, Participant, StockWork } from '../../actors/stock-engine.ts';
import type { StockDesk } from '../../actors/stock-plan.ts';
import type { Executor } from '../../db/client.ts';
import { notFound } from '../../lib/errors.ts';
import { orderRecord, type OrderRecord } from '../events/records.ts';
import { readOrderStates, updateOrders, type LogRow, type OrderChange } from './lifecycle.queries.ts';
import { canMove, type OrderStatus } from './order-state.ts';
import * as to from './transitions.ts';
import type { Decision, Line, Next, OrderPolicy, Step, Working } from './transitions.ts';

export type StepOutcome =
  | { outcome: 'moved'; status: OrderStatus; version: number }
  /** Still pending (or reserved): due again after `nextAttemptInMs`; the lease is let go. */
  | { outcome: 'retry'; status: OrderStatus; version: number; nextAttemptInMs: number }
  /** Someone else changed the order since this worker last saw it: the worker lets it go. */
  | { outcome: 'stale' }
  | { outcome: 'unchanged'; status: OrderStatus };

export type StepWork = StockWork<StepOutcome> & { orderId: string; lines: readonly Line[]; step: Step };

/** An order in the batch: as read (its version is the fence of the batch's write), and as changed so far. */
type Tracked = { order: Working; readVersion: number; change?: OrderChange };
type Ctx = { orders: Map<string, Tracked>; logs: LogRow[]; records: OrderRecord[] };

function decide(order: Working, desk: StockDesk, work: StepWork, policy: OrderPolicy): Decision {
  const { step } = work;
  switch (step.kind) {
    case 'reserve':
      return to.reserve(order, desk, step, policy);
    case 'sell':
      return to.sell(order, desk, step);
    case 'fail':
      return to.fail(order, desk, step, policy);
    case 'retry-payment':
      return to.retryPayment(order, step);
    case 'cancel':
      return to.cancel(order, desk, policy);
    case 'ship':
      return to.ship(order, desk);
  }
}

/**
 * The order side of stock transactions for orders that exist: the only code that changes an
 * order's status after its intake. Each change of an order is one version, one outbox record and
 * (if it is not a normal step) one log row; the batch writes each order once, fenced on the
 * version it read.
 */
export class OrderSteps implements Participant<StepWork, Ctx> {
  constructor(private readonly policy: OrderPolicy) {}

  /** A step for an order whose lines are `lines` (what it locks: its products' stock). */
  work(orderId: string, lines: readonly Line[], step: Step): StepWork {
    return { productIds: [...new Set(lines.map((l) => l.productId))], participant: this as Participant<StockWork<StepOutcome>, unknown>, orderId, lines, step };
  }

  async read(tx: Executor, works: StepWork[]): Promise<Ctx> {
    const rows = await readOrderStates(tx, [...new Set(works.map((w) => w.orderId))]);
    return { orders: new Map(rows.map((row) => [row.id, { order: { ...row }, readVersion: row.version }])), logs: [], records: [] };
  }

  apply(desk: StockDesk, work: StepWork, ctx: Ctx): StepOutcome {
    const tracked = ctx.orders.get(work.orderId);
    if (!tracked) {
      if (work.step.kind === 'cancel' || work.step.kind === 'ship') throw notFound(`order ${work.orderId}`);
      return { outcome: 'stale' };
    }
    const decision = decide(tracked.order, desk, work, this.policy);
    if (decision === to.STALE) return { outcome: 'stale' };
    if (decision === to.UNCHANGED) return { outcome: 'unchanged', status: tracked.order.status };
    return this.commit(tracked, decision, ctx);
  }

  prepare(_applied: Applied<StepWork>[], ctx: Ctx) {
    const changes = [...ctx.orders.values()].flatMap((t) => (t.change ? [t.change] : []));
    return {
      outbox: { orders: ctx.records },
      write: async (tx: Executor) => {
        if (changes.length > 0) await updateOrders(tx, changes, ctx.logs, this.policy.reconcileHorizonMs);
      },
    };
  }

  /** The order takes its next state: a new version, its record, its log row, and the batch's write of it. */
  private commit(tracked: Tracked, next: Next, ctx: Ctx): StepOutcome {
    const order = tracked.order;
    const previous = order.status;
    if (!canMove(previous, next.status)) throw new Error(`invariant: an order cannot go from ${previous} to ${next.status}`);
    Object.assign(order, {
      status: next.status,
      attempts: next.attempts,
      lastError: next.lastError,
      paymentStatus: next.payment?.status ?? null,
      paymentReference: next.payment?.reference ?? null,
      paymentAttempts: next.payment?.attempts ?? 0,
      allocations: next.allocations ?? order.allocations,
      version: order.version + 1,
    });
    const earlier = tracked.change;
    tracked.change = {
      id: order.id,
      readVersion: tracked.readVersion,
      version: order.version,
      status: order.status,
      attempts: order.attempts,
      lastError: order.lastError,
      paymentStatus: order.paymentStatus,
      paymentReference: order.paymentReference,
      paymentAttempts: order.paymentAttempts,
      nextDelayMs: next.retryInMs ?? 0,
      leaseOwner: next.leased ? this.policy.owner : null,
      leaseMs: next.leased ? this.policy.leaseMs : 0,
      reconcileDelayMs: next.reconcileInMs ?? earlier?.reconcileDelayMs ?? null,
      stamps: [...(earlier?.stamps ?? []), ...(next.stamp ? [next.stamp] : [])],
      allocations: next.allocations ?? earlier?.allocations ?? null,
    };
    if (next.log) ctx.logs.push({ orderId: order.id, status: order.status, message: next.log.message, errorMessage: next.log.error });
    ctx.records.push(
      orderRecord({
        id: order.id,
        status: order.status,
        previous,
        version: order.version,
        attempts: order.attempts,
        lastError: order.lastError,
        payment: next.payment,
        nextAttemptInMs: next.retryInMs,
        allocations: order.allocations,
      }),
    );
    const { status, version } = order;
    return next.retryInMs !== null && !next.leased ? { outcome: 'retry', status, version, nextAttemptInMs: next.retryInMs } : { outcome: 'moved', status, version };
  }
}
