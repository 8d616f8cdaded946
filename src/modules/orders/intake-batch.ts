import type { Applied, Participant, StockWork } from '../../actors/stock-engine.ts';
import type { StockDesk } from '../../actors/stock-plan.ts';
import { iso, type Executor } from '../../db/client.ts';
import { AppError } from '../../lib/errors.ts';
import { fromCents, toCents } from '../../lib/money.ts';
import { orderRecord, type OrderRecord } from '../events/records.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { findKeyed, type KeyedOrder } from './intake.queries.ts';
import { insertOrders, type LogRow, type NewOrderRow, type OrderState } from './lifecycle.queries.ts';
import type { OrderMemory } from './order-memory.ts';
import type { LineAllocation, OrderFacts, OrderStatus } from './order-state.ts';
import type { Order, OrderCreate } from './orders.models.ts';
import type { HoldLink } from '../holds/hold-keeper.ts';
import { allocateLines, requestedLocations, shortage, unitsByProduct } from './allocations.ts';
import { holdFor } from './intake-hold.ts';
import { missedReservation, type OrderPolicy } from './transitions.ts';
import { acceptanceView } from './views.ts';

/** An order as it was born: what the worker needs to carry on with it, and the 202's body. */
export type Born = {
  facts: OrderFacts;
  status: OrderStatus;
  /** Where its units are held (reserved at birth); null: not held yet. */
  allocations: LineAllocation[] | null;
  version: number;
  attempts: number;
  lastError: string | null;
  /** A pending order's first retry (null: nothing due, or due now). */
  nextAttemptInMs: number | null;
};

/** One order to store: the request, its id, and its Idempotency-Key in the caller's scope. */
export type IntakeWork = StockWork<IntakeResult> & { id: string; input: OrderCreate; scope: string; key: string | null; hash: string | null };
export type IntakeResult = { kind: 'placed'; born: Born } | { kind: 'replay'; order: Order };

type Ctx = { keyed: Map<string, KeyedOrder>; rows: NewOrderRow[]; logs: LogRow[]; records: OrderRecord[]; born: Born[] };

/** numeric(14, 2): the largest total an order can store, in cents. */
const MAX_TOTAL_CENTS = 99_999_999_999_999n;

export const keyOf = (scope: string, key: string) => `${scope}\n${key}`;

/**
 * The intake's side of a stock transaction: each order takes its stock from the batch's copy of the
 * levels (all lines or none) and the batch stores every order in one INSERT, born `reserved`, or
 * `pending` with its retry due when its stock is short. Prices are the catalog's, read with the
 * levels (a price change moves the level's version, so a batch decided on an old price fails its
 * fence). An Idempotency-Key seen before answers the first order again.
 *
 * A batch of orders without holds may be decided from memory (`recall`): nothing is read, and a
 * key already taken is found by the INSERT (ON CONFLICT), which fails the batch; it is decided
 * again under the locks, where the key is read and answered as a replay.
 */
export class IntakeBatch implements Participant<IntakeWork, Ctx> {
  constructor(
    private readonly policy: OrderPolicy,
    private readonly metrics: Metrics,
    /** Orders placed with a hold take its stock (intake-hold.ts). */
    private readonly holds: HoldLink,
    /** Where a reserved order is remembered for its payment's outcome (steps.ts). */
    private readonly memory: OrderMemory,
  ) {}

  async read(tx: Executor, works: IntakeWork[]): Promise<Ctx> {
    const keys = works.flatMap((w) => (w.key === null ? [] : [{ scope: w.scope, key: w.key }]));
    const keyed = await findKeyed(tx, keys);
    return { keyed: new Map(keyed.map((k) => [keyOf(k.scope, k.key), k])), rows: [], logs: [], records: [], born: [] };
  }

  /** Every order (one placed with a hold names the keeper's row, and the engine reads for those). */
  canRecall(): boolean {
    return true;
  }

  recall(): Ctx {
    return { keyed: new Map(), rows: [], logs: [], records: [], born: [] };
  }

  apply(desk: StockDesk, work: IntakeWork, ctx: Ctx, kept?: unknown): IntakeResult {
    if (work.key !== null) {
      const first = ctx.keyed.get(keyOf(work.scope, work.key));
      if (first) return replay(first, work.hash!);
    }
    const lines = work.input.items;
    const unknown = lines.map((line, i) => ({ line, i })).filter(({ line }) => desk.price(line.productId) === null);
    if (unknown.length > 0) {
      throw new AppError(
        'validation',
        `not orderable: ${unknown.map(({ line }) => line.productId).join(', ')}`,
        unknown.map(({ i }) => ({ path: `body.items[${i}].productId`, message: 'is not a product that can be ordered (unknown or archived)' })),
      );
    }
    const priced = lines.map((line) => ({ productId: line.productId, quantity: line.quantity, unitPrice: desk.price(line.productId)! }));
    const cents = priced.reduce((sum, item) => sum + toCents(item.unitPrice) * BigInt(item.quantity), 0n);
    if (cents > MAX_TOTAL_CENTS) {
      throw new AppError('validation', `the order total ${fromCents(cents)} is more than an order can hold (${fromCents(MAX_TOTAL_CENTS)})`, [
        { path: 'body.items', message: 'prices × quantities exceed 999999999999.99' },
      ]);
    }
    const { holdId } = work.input;
    const held = holdId !== undefined && holdFor(this.holds, kept, { ...work.input, holdId });
    // With an active hold the order's stock is the hold's, wherever it was allowed to come from.
    const allowed = held ? undefined : requestedLocations(desk, work.input.locationIds);
    for (const line of lines) desk.notePlaced(line.productId);
    const facts: OrderFacts = { id: work.id, customerId: work.input.customerId, items: priced, total: fromCents(cents), createdAt: desk.at };
    const born = held ? fromHold(facts, this.holds.convert(kept, desk, holdId, work.id)) : this.birth(desk, work, facts, allowed, ctx);
    ctx.born.push(born);
    ctx.rows.push({
      id: work.id,
      customerId: facts.customerId,
      status: born.status,
      items: priced,
      allocations: born.allocations,
      locationIds: held ? null : (work.input.locationIds ?? null),
      total: facts.total,
      attempts: born.attempts,
      lastError: born.lastError,
      nextDelayMs: born.nextAttemptInMs ?? 0,
      // A reserved order is this process's to pay; a pending one is free for whoever retries it first.
      leaseOwner: born.status === 'reserved' ? this.policy.owner : null,
      leaseMs: this.policy.leaseMs,
      scope: work.key === null ? null : work.scope,
      key: work.key,
      hash: work.hash,
    });
    ctx.records.push(
      orderRecord({
        id: work.id,
        status: born.status,
        previous: null,
        version: born.version,
        attempts: born.attempts,
        lastError: born.lastError,
        payment: null,
        nextAttemptInMs: born.nextAttemptInMs,
        allocations: born.allocations,
      }),
    );
    return { kind: 'placed', born };
  }

  prepare(_applied: Applied<IntakeWork>[], ctx: Ctx) {
    return {
      outbox: { orders: ctx.records },
      // A key taken by another process since it was read fails the statement: the batch is redone.
      write: ctx.rows.length > 0 ? (tx: Executor) => insertOrders(tx, ctx.rows, ctx.logs) : undefined,
    };
  }

  /** The 202 says when the order was stored: the transaction's time (a batch decided from memory only knows it now). */
  committed(ctx: Ctx, at: string) {
    const createdAt = iso(at);
    for (const born of ctx.born) born.facts.createdAt = createdAt;
    for (const row of ctx.rows) this.memory.note(stateOf(row, createdAt));
    if (ctx.rows.length === 0) return;
    this.metrics.ordersAccepted.inc(ctx.rows.length);
    this.metrics.intakeBatchSize.observe(ctx.rows.length);
  }

  /** Reserved when every line's stock is there (where it may come from); otherwise its first reservation attempt missed. */
  private birth(desk: StockDesk, work: IntakeWork, facts: OrderFacts, allowed: ReadonlySet<string> | undefined, ctx: Ctx): Born {
    const lines = work.input.items;
    const allocations = allocateLines(desk, lines, allowed);
    if (allocations) {
      for (const [productId, units] of unitsByProduct({ items: lines, allocations }, desk.defaultLocationId)) desk.reserve(productId, units);
      return { facts, status: 'reserved', allocations, version: 1, attempts: 0, lastError: null, nextAttemptInMs: null };
    }
    const error = shortage(desk, lines, allowed) ?? 'insufficient stock';
    const missed = missedReservation(this.policy, 1);
    ctx.logs.push({ orderId: work.id, status: missed.status, message: missed.log, errorMessage: error });
    return { facts, status: missed.status, allocations: null, version: 1, attempts: 1, lastError: error, nextAttemptInMs: missed.delayMs };
  }
}

/** An order as it was stored: what reading it back would give. */
const stateOf = (row: NewOrderRow, createdAt: string): OrderState => ({
  id: row.id,
  version: 1,
  status: row.status,
  customerId: row.customerId,
  items: row.items,
  allocations: row.allocations,
  locationIds: row.locationIds,
  total: row.total,
  createdAt,
  attempts: row.attempts,
  lastError: row.lastError,
  paymentStatus: null,
  paymentReference: null,
  paymentAttempts: 0,
  refunded: '0.00',
});

/** Born reserved with the hold's stock, where the hold had it. */
const fromHold = (facts: OrderFacts, allocations: LineAllocation[]): Born => ({
  facts,
  status: 'reserved',
  allocations,
  version: 1,
  attempts: 0,
  lastError: null,
  nextAttemptInMs: null,
});

/** Keys seen before: the same body gets the first answer again, another body a 422. */
function replay(first: KeyedOrder, hash: string): IntakeResult {
  if (first.requestHash !== hash) {
    throw new AppError('validation', 'this Idempotency-Key was used with a different request body', [
      { path: 'headers.idempotency-key', message: 'was already used for another request' },
    ]);
  }
  const status = first.bornStatus;
  const order = acceptanceView({
    facts: { id: first.id, customerId: first.customerId, items: first.items, total: first.total, createdAt: iso(first.createdAt) },
    status,
    version: 1,
    attempts: status === 'reserved' ? 0 : 1,
    lastError: status === 'reserved' ? null : first.lastError,
    nextAttemptInMs: null,
    allocations: status === 'reserved' ? first.allocations : null,
  });
  return { kind: 'replay', order };
}
