import type { Applied, Participant, StockWork } from '../../actors/stock-engine.ts';
import type { WritePart } from '../../actors/stock.queries.ts';
import { Deferred, type StockDesk } from '../../actors/stock-plan.ts';
import type { Executor } from '../../db/client.ts';
import { AppError, notFound } from '../../lib/errors.ts';
import { orderRecord, type OrderRecord } from '../events/records.ts';
import * as after from './after-sale.ts';
import type { Fulfilment, Return } from './after-sale.models.ts';
import {
  findKeyedFulfilments,
  findKeyedReturns,
  insertFulfilments,
  insertReturns,
  noDocuments,
  readDocuments,
  type Documents,
  type Idempotency,
  type Keyed,
  type NewFulfilment,
  type NewReturn,
} from './documents.queries.ts';
import { readOrderStates, updateOrders, type LogRow, type OrderChange, type OrderState } from './lifecycle.queries.ts';
import type { OrderMemory } from './order-memory.ts';
import { canMove, type OrderStatus } from './order-state.ts';
import * as to from './transitions.ts';
import type { Decision, Line, Next, OrderPolicy, Step, Working } from './transitions.ts';

/** A document a step made or found under its Idempotency-Key, as the API shows it. */
export type Document = { kind: 'fulfilment'; doc: Fulfilment } | { kind: 'return'; doc: Return };

export type StepOutcome =
  /** `made`: the fulfilments and returns the step made, in order. */
  | { outcome: 'moved'; status: OrderStatus; version: number; made: Document[] }
  /** Still pending (or reserved): due again after `nextAttemptInMs`; the lease is let go. */
  | { outcome: 'retry'; status: OrderStatus; version: number; nextAttemptInMs: number }
  /** Someone else changed the order since this worker last saw it: the worker lets it go. */
  | { outcome: 'stale' }
  | { outcome: 'unchanged'; status: OrderStatus }
  /** The step's Idempotency-Key made this document before (with the same request): nothing more happened. */
  | { outcome: 'replayed'; document: Document };

export type StepWork = StockWork<StepOutcome> & { orderId: string; lines: readonly Line[]; step: Step };

/** An order in the batch: as read (its version is the fence of the batch's write), and as changed so far. */
type Tracked = { order: Working; docs: Documents; readVersion: number; change?: OrderChange };
type Ctx = {
  orders: Map<string, Tracked>;
  keyed: { fulfilments: Map<string, Keyed<Fulfilment>>; returns: Map<string, Keyed<Return>> };
  logs: LogRow[];
  records: OrderRecord[];
  fulfilments: NewFulfilment[];
  returns: NewReturn[];
};

/** The steps of the worker: they may be decided on the remembered order (`OrderMemory`). */
const recallable = new Set<Step['kind']>(['reserve', 'sell', 'fail', 'retry-payment']);

/** The steps that decide from what has shipped and come back (the others never see an order that has any). */
const needsDocuments = (step: Step) => step.kind === 'fulfil' || step.kind === 'ship' || step.kind === 'return' || step.kind === 'cancel';
const keyOf = (k: { scope: string; key: string }) => `${k.scope}\n${k.key}`;
const idempotencyOf = (step: Step): Idempotency | null => (step.kind === 'fulfil' || step.kind === 'return' ? step.request.idempotency : null);

function decide(tracked: Tracked, desk: StockDesk, work: StepWork, policy: OrderPolicy): Decision {
  const { step } = work;
  const { order, docs } = tracked;
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
      return to.cancel(order, desk, policy, docs);
    case 'fulfil':
      return after.fulfil(order, docs, desk, step.request);
    case 'ship':
      return after.shipRest(order, docs, desk);
    case 'return':
      return after.takeReturn(order, docs, desk, step.request, policy);
  }
}

/** A request whose key made a document before: the same request gets it again, another one is refused. */
function replay<D>(first: Keyed<D> | undefined, hash: string): D | undefined {
  if (!first) return undefined;
  if (first.requestHash !== hash) {
    throw new AppError('validation', 'this Idempotency-Key was used with a different request', [{ path: 'headers.idempotency-key', message: 'was already used for another request' }]);
  }
  return first.document;
}

/**
 * The order side of stock transactions for orders that exist: the only code that changes an
 * order's status after its intake, and that makes its fulfilments and returns. Each change of an
 * order is one version, one outbox record and (if it is not a normal step) one log row; the batch
 * writes each order once, fenced on the version it read (or remembered: a payment's outcome for an
 * order this process reserved is decided without reading it, see `OrderMemory`).
 */
export class OrderSteps implements Participant<StepWork, Ctx> {
  constructor(
    private readonly policy: OrderPolicy,
    private readonly memory: OrderMemory,
  ) {}

  /** A step for an order whose lines are `lines` (what it locks: its products' stock). */
  work(orderId: string, lines: readonly Line[], step: Step): StepWork {
    return { productIds: [...new Set(lines.map((l) => l.productId))], participant: this as Participant<StockWork<StepOutcome>, unknown>, orderId, lines, step };
  }

  async read(tx: Executor, works: StepWork[]): Promise<Ctx> {
    const keysOf = (kind: Step['kind']) => works.flatMap((w) => (w.step.kind === kind ? [idempotencyOf(w.step)].filter((k) => k !== null) : []));
    const [rows, docs, fulfilments, returns] = await Promise.all([
      readOrderStates(tx, [...new Set(works.map((w) => w.orderId))]),
      readDocuments(tx, [...new Set(works.filter((w) => needsDocuments(w.step)).map((w) => w.orderId))]),
      findKeyedFulfilments(tx, keysOf('fulfil')),
      findKeyedReturns(tx, keysOf('return')),
    ]);
    return {
      orders: new Map(rows.map((row) => [row.id, { order: { ...row }, docs: docs.get(row.id) ?? noDocuments(), readVersion: row.version }])),
      keyed: { fulfilments: new Map(fulfilments.map((k) => [keyOf(k), k])), returns: new Map(returns.map((k) => [keyOf(k), k])) },
      logs: [],
      records: [],
      fulfilments: [],
      returns: [],
    };
  }

  /** An order this process just claimed: its next step may be decided on it as the claim returned it. */
  remember(claimed: OrderState) {
    this.memory.note(claimed, { claimed: true });
  }

  canRecall(work: StepWork): boolean {
    return recallable.has(work.step.kind) && 'version' in work.step && this.memory.at(work.orderId, work.step.version) !== undefined;
  }

  recall(works: StepWork[]): Ctx {
    const orders = new Map<string, Tracked>();
    for (const work of works) {
      const state = this.memory.at(work.orderId, (work.step as { version: number }).version)!;
      orders.set(work.orderId, { order: { ...state }, docs: noDocuments(), readVersion: state.version });
    }
    return { orders, keyed: { fulfilments: new Map(), returns: new Map() }, logs: [], records: [], fulfilments: [], returns: [] };
  }

  apply(desk: StockDesk, work: StepWork, ctx: Ctx): StepOutcome {
    const outcome = this.decideStep(desk, work, ctx);
    // From memory only a change is fenced: anything else is decided again on the order as read.
    if (desk.recalled && outcome.outcome !== 'moved' && outcome.outcome !== 'retry') throw new Deferred(`order ${work.orderId} is not as remembered`);
    return outcome;
  }

  /** The orders as they are once the batch committed: reserved ones are remembered for their next step. */
  committed(ctx: Ctx) {
    for (const { order } of ctx.orders.values()) this.memory.note(order);
  }

  private decideStep(desk: StockDesk, work: StepWork, ctx: Ctx): StepOutcome {
    const tracked = ctx.orders.get(work.orderId);
    const { step } = work;
    if (!tracked) {
      this.memory.forget(work.orderId);
      if (step.kind === 'reserve' || step.kind === 'sell' || step.kind === 'fail' || step.kind === 'retry-payment') return { outcome: 'stale' };
      throw notFound(`order ${work.orderId}`);
    }
    const idempotency = idempotencyOf(step);
    if (idempotency) {
      const fulfilment = step.kind === 'fulfil' ? replay(ctx.keyed.fulfilments.get(keyOf(idempotency)), idempotency.hash) : undefined;
      if (fulfilment) return { outcome: 'replayed', document: { kind: 'fulfilment', doc: fulfilment } };
      const returned = step.kind === 'return' ? replay(ctx.keyed.returns.get(keyOf(idempotency)), idempotency.hash) : undefined;
      if (returned) return { outcome: 'replayed', document: { kind: 'return', doc: returned } };
    }
    const decision = decide(tracked, desk, work, this.policy);
    if (decision === to.STALE) return { outcome: 'stale' };
    if (decision === to.UNCHANGED) return { outcome: 'unchanged', status: tracked.order.status };
    return this.commit(tracked, decision, ctx);
  }

  prepare(_applied: Applied<StepWork>[], ctx: Ctx) {
    const changes = [...ctx.orders.values()].flatMap((t) => (t.change ? [t.change] : []));
    return {
      outbox: { orders: ctx.records },
      write: (tx: Executor): WritePart => {
        // A key another process took meanwhile for a document fails the statement, and with it the batch.
        const parts = [
          ctx.fulfilments.length > 0 ? insertFulfilments(tx, ctx.fulfilments) : undefined,
          ctx.returns.length > 0 ? insertReturns(tx, ctx.returns) : undefined,
          changes.length > 0 ? updateOrders(tx, changes, ctx.logs, this.policy.reconcileHorizonMs) : undefined,
        ].filter((part) => part !== undefined);
        return { ctes: parts.flatMap((p) => p.ctes), checks: parts.flatMap((p) => p.checks) };
      },
    };
  }

  /**
   * The order takes its next state: a new version, its record, its log row, and the batch's write of
   * it. Each document the step made is a version and a record of its own (its event), before the
   * change of status it may bring (the last parcel: `shipped`).
   */
  private commit(tracked: Tracked, next: Next, ctx: Ctx): StepOutcome {
    const order = tracked.order;
    const previous = order.status;
    if (!canMove(previous, next.status)) throw new Error(`invariant: an order cannot go from ${previous} to ${next.status}`);
    const record = (made?: OrderRecord['made']) =>
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
          ...tracked.docs,
          refunded: order.refunded,
          made,
        }),
      );
    const made: Document[] = [];
    for (const m of next.made) {
      const document = this.keep(tracked, m, ctx);
      made.push(document);
      order.version += 1;
      // The document's record shows the order as it was before any change of status this step makes.
      record({ kind: document.kind, id: document.doc.id });
    }
    Object.assign(order, {
      status: next.status,
      attempts: next.attempts,
      lastError: next.lastError,
      paymentStatus: next.payment?.status ?? null,
      paymentReference: next.payment?.reference ?? null,
      paymentAttempts: next.payment?.attempts ?? 0,
      allocations: next.allocations ?? order.allocations,
    });
    if (made.length === 0 || order.status !== previous) {
      order.version += 1;
      record();
    }
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
    const { status, version } = order;
    return next.retryInMs !== null && !next.leased ? { outcome: 'retry', status, version, nextAttemptInMs: next.retryInMs } : { outcome: 'moved', status, version, made };
  }

  /** A document made by a step joins the order's documents and the batch's writes. */
  private keep(tracked: Tracked, made: after.Made, ctx: Ctx): Document {
    if (made.kind === 'fulfilment') {
      ctx.fulfilments.push(made.row);
      tracked.docs = { ...tracked.docs, fulfilments: [...tracked.docs.fulfilments, made.row.fulfilment] };
      return { kind: 'fulfilment', doc: made.row.fulfilment };
    }
    ctx.returns.push(made.row);
    tracked.docs = { ...tracked.docs, returns: [...tracked.docs.returns, made.row.doc] };
    return { kind: 'return', doc: made.row.doc };
  }
}
