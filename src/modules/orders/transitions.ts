import type { Applied, Participant, StockWork } from '../../actors/stock-engine.ts';
import type { StockDesk } from '../../actors/stock-plan.ts';
import type { Executor } from '../../db/client.ts';
import { conflict, notFound } from '../../lib/errors.ts';
import type { OrderRecord } from '../events/records.ts';
import { readOrderStates, updateOrders, type LogRow, type OrderChange, type OrderState } from './lifecycle.queries.ts';
import { canMove, type OrderStatus, type PaymentStatus } from './order-state.ts';

/** What the order steps need to know, set once per process. */
export type OrderPolicy = {
  /** This process's incarnation: the lease owner of the orders it works on. */
  owner: string;
  leaseMs: number;
  maxAttempts: number;
  /** Delay before reservation attempt `attempt + 1`, after `attempt` found too little stock. */
  retryDelayMs(attempt: number): number;
  /** When to first ask the payment provider about an order whose charge may still land. */
  reconcileDelayMs: number;
  /** How long asking may go on before a person must look. */
  reconcileHorizonMs: number;
};

/** One step of an existing order, decided under its products' stock locks. */
export type Step =
  /** pending → reserved, or another try later, or failed once the attempts are used up. */
  | { kind: 'reserve'; version: number }
  /** reserved → processed: paid; the held stock is sold. */
  | { kind: 'sell'; version: number; charge: string; attempts: number }
  /** reserved → failed: the payment gave up; the stock goes back on sale. */
  | { kind: 'fail'; version: number; error: string; payment: { status: PaymentStatus; attempts: number }; reconcile: boolean; message?: string }
  /** reserved → reserved: a payment attempt failed, the next one is due after `delayMs`. */
  | { kind: 'retry-payment'; version: number; attempts: number; maxAttempts: number; error: string; delayMs: number }
  /** The customer's decision: wins over any worker (not fenced on a version) and fences them out. */
  | { kind: 'cancel' }
  | { kind: 'ship' };

export type StepOutcome =
  | { outcome: 'moved'; status: OrderStatus; version: number }
  /** Still pending (or reserved): due again after `nextAttemptInMs`; the lease is let go. */
  | { outcome: 'retry'; status: OrderStatus; version: number; nextAttemptInMs: number }
  /** Someone else changed the order since this worker last saw it: the worker lets it go. */
  | { outcome: 'stale' }
  | { outcome: 'unchanged'; status: OrderStatus };

export type StepWork = StockWork<StepOutcome> & { orderId: string; items: readonly { productId: string; quantity: number }[]; step: Step };

/** An order as the batch sees it: read once, changed in memory, written once. */
type Working = OrderState & { change?: OrderChange };
type Ctx = { orders: Map<string, Working>; logs: LogRow[]; records: OrderRecord[] };

const describe = (items: StepWork['items']) => items.map((i) => `${i.quantity} × ${i.productId}`).join(', ');

/** Why the stock cannot be held for these lines (the first one short), or null when it can. */
export function shortage(desk: StockDesk, items: StepWork['items']): string | null {
  const short = items.find((item) => desk.available(item.productId) < item.quantity);
  if (!short) return null;
  return `insufficient stock for product ${short.productId}: ${short.quantity} wanted, ${Math.max(0, desk.available(short.productId))} available`;
}

/** Reservation attempt `attempts` found too little stock: the order fails, or tries again after `delayMs`. */
export function missedReservation(policy: OrderPolicy, attempts: number): { status: 'failed' | 'pending'; delayMs: number | null; log: string } {
  if (attempts >= policy.maxAttempts) return { status: 'failed', delayMs: null, log: `gave up after ${attempts} reservation attempts` };
  const delayMs = policy.retryDelayMs(attempts);
  return { status: 'pending', delayMs, log: `reservation attempt ${attempts} of ${policy.maxAttempts} failed; retrying in ${delayMs} ms` };
}

/**
 * The order side of stock transactions for orders that exist: this is where the state machine is
 * applied. It is the only code that changes an order's status after its intake.
 */
export class OrderSteps implements Participant<StepWork, Ctx> {
  constructor(private readonly policy: OrderPolicy) {}

  /** A step for an order whose lines are `items` (what it locks: its products' stock). */
  work(orderId: string, items: readonly { productId: string; quantity: number }[], step: Step): StepWork {
    return { productIds: [...new Set(items.map((i) => i.productId))], participant: this as Participant<StockWork<StepOutcome>, unknown>, orderId, items, step };
  }

  async read(tx: Executor, works: StepWork[]): Promise<Ctx> {
    const rows = await readOrderStates(tx, [...new Set(works.map((w) => w.orderId))]);
    return { orders: new Map(rows.map((row) => [row.id, { ...row }])), logs: [], records: [] };
  }

  apply(desk: StockDesk, work: StepWork, ctx: Ctx): StepOutcome {
    const order = ctx.orders.get(work.orderId);
    const { step } = work;
    if (!order) {
      if (step.kind === 'cancel' || step.kind === 'ship') throw notFound(`order ${work.orderId}`);
      return { outcome: 'stale' };
    }
    const version = order.version + (order.change ? 1 : 0);
    const current = (expected: OrderStatus, fence: number) => order.status === expected && version === fence;
    const apply = new Apply(this.policy, order, ctx, version);
    switch (step.kind) {
      case 'reserve': {
        if (!current('pending', step.version)) return { outcome: 'stale' };
        const error = shortage(desk, work.items);
        if (error === null) {
          for (const item of work.items) desk.hold(item.productId, item.quantity);
          return apply.move('reserved', { lastError: null, lease: true, stamp: 'reserved' });
        }
        const attempts = order.attempts + 1;
        const missed = missedReservation(this.policy, attempts);
        return apply.move(missed.status, { attempts, lastError: error, nextDelayMs: missed.delayMs ?? undefined, log: missed.log });
      }
      case 'sell': {
        if (!current('reserved', step.version)) return { outcome: 'stale' };
        for (const item of work.items) desk.sell(item.productId, item.quantity, order.id);
        return apply.move('processed', { lastError: null, payment: { status: 'succeeded', reference: step.charge, attempts: step.attempts }, stamp: 'processed' });
      }
      case 'fail': {
        if (!current('reserved', step.version)) return { outcome: 'stale' };
        for (const item of work.items) desk.release(item.productId, item.quantity);
        return apply.move('failed', {
          lastError: step.error,
          payment: { status: step.payment.status, reference: order.paymentReference, attempts: step.payment.attempts },
          reconcileDelayMs: step.reconcile ? this.policy.reconcileDelayMs : null,
          log: step.message ?? 'payment failed; reservation released',
        });
      }
      case 'retry-payment': {
        if (!current('reserved', step.version)) return { outcome: 'stale' };
        return apply.move('reserved', {
          lastError: step.error,
          payment: { status: 'pending', reference: order.paymentReference, attempts: step.attempts },
          nextDelayMs: step.delayMs,
          log: `payment attempt ${step.attempts} of ${step.maxAttempts} failed; retrying in ${step.delayMs} ms`,
        });
      }
      case 'cancel':
        switch (order.status) {
          case 'cancelled':
            return { outcome: 'unchanged', status: 'cancelled' };
          case 'failed':
          case 'shipped':
            throw conflict(`a ${order.status} order cannot be cancelled`, { orderStatus: order.status });
          case 'pending':
            return apply.move('cancelled', { log: 'cancelled by request' });
          case 'reserved':
            for (const item of work.items) desk.release(item.productId, item.quantity);
            // A charge may be on its way right now: look once it must have landed, and refund it.
            return apply.move('cancelled', { reconcileDelayMs: this.policy.reconcileDelayMs, log: 'cancelled by request; reservation released' });
          case 'processed':
            for (const item of work.items) desk.restock(item.productId, item.quantity, order.id);
            return apply.move('cancelled', {
              payment: { status: 'refund_pending', reference: order.paymentReference, attempts: order.paymentAttempts },
              reconcileDelayMs: 0,
              log: `cancelled by request; restocked ${describe(work.items)}; refund pending`,
            });
        }
        break;
      case 'ship':
        if (order.status !== 'processed') throw conflict(`only processed orders can be shipped; this one is ${order.status}`, { orderStatus: order.status });
        for (const item of work.items) desk.shipOut(item.productId, item.quantity);
        return apply.move('shipped', { stamp: 'shipped' });
    }
    throw new Error(`unknown step ${(step as Step).kind}`);
  }

  prepare(_applied: Applied<StepWork>[], ctx: Ctx) {
    const changes = [...ctx.orders.values()].flatMap((o) => (o.change ? [o.change] : []));
    return {
      outbox: { orders: ctx.records },
      write: async (tx: Executor) => {
        if (changes.length > 0) await updateOrders(tx, changes, ctx.logs, this.policy.reconcileHorizonMs);
      },
    };
  }
}

type MoveOptions = {
  attempts?: number;
  lastError?: string | null;
  payment?: { status: PaymentStatus; reference: string | null; attempts: number };
  nextDelayMs?: number;
  /** Keep (or take) the lease: this process works on the order next. */
  lease?: boolean;
  reconcileDelayMs?: number | null;
  stamp?: OrderChange['stamp'];
  /** A log row: what is not a normal step (a retry, a failure, a cancel) is written down. */
  log?: string;
};

/** One change of one order: its new state, its log row, its outbox record. */
class Apply {
  constructor(
    private readonly policy: OrderPolicy,
    private readonly order: Working,
    private readonly ctx: Ctx,
    private readonly version: number,
  ) {}

  move(status: OrderStatus, options: MoveOptions): StepOutcome {
    const order = this.order;
    const previous = order.status;
    if (!canMove(previous, status)) throw new Error(`invariant: an order cannot go from ${previous} to ${status}`);
    order.status = status;
    if (options.attempts !== undefined) order.attempts = options.attempts;
    if (options.lastError !== undefined) order.lastError = options.lastError;
    if (options.payment) {
      order.paymentStatus = options.payment.status;
      order.paymentReference = options.payment.reference;
      order.paymentAttempts = options.payment.attempts;
    }
    const nextDelayMs = options.nextDelayMs ?? 0;
    order.change = {
      id: order.id,
      readVersion: order.change?.readVersion ?? order.version,
      status,
      attempts: order.attempts,
      lastError: order.lastError,
      paymentStatus: order.paymentStatus,
      paymentReference: order.paymentReference,
      paymentAttempts: order.paymentAttempts,
      nextDelayMs,
      leaseOwner: options.lease ? this.policy.owner : null,
      leaseMs: options.lease ? this.policy.leaseMs : 0,
      reconcileDelayMs: options.reconcileDelayMs ?? order.change?.reconcileDelayMs ?? null,
      stamp: options.stamp ?? order.change?.stamp ?? null,
    };
    if (options.log) this.ctx.logs.push({ orderId: order.id, status, message: options.log, errorMessage: options.lastError ?? null });
    const version = this.version + (this.version === order.version ? 1 : 0);
    const due = status === 'pending' || (status === 'reserved' && options.nextDelayMs !== undefined);
    this.ctx.records.push({
      id: order.id,
      status,
      previous,
      version,
      ...(order.attempts ? { attempts: order.attempts } : {}),
      ...(order.lastError ? { lastError: order.lastError } : {}),
      ...(order.paymentStatus ? { payment: { status: order.paymentStatus, reference: order.paymentReference, attempts: order.paymentAttempts } } : {}),
      ...(due ? { nextAttemptInMs: nextDelayMs } : {}),
    });
    return due && !options.lease ? { outcome: 'retry', status, version, nextAttemptInMs: nextDelayMs } : { outcome: 'moved', status, version };
  }
}
