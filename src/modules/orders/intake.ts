import { createHash } from 'node:crypto';
import type { StockActors } from '../../actors/stock-actors.ts';
import type { Applied, Participant, StockWork } from '../../actors/stock-engine.ts';
import type { StockDesk } from '../../actors/stock-plan.ts';
import { isDatabaseUnavailable, iso, type Executor } from '../../db/client.ts';
import { AppError, conflict } from '../../lib/errors.ts';
import { fromCents, toCents } from '../../lib/money.ts';
import type { OrderRecord } from '../events/records.ts';
import { findKeyed, readPrices, type KeyedOrder } from './intake.queries.ts';
import { insertOrders, type LogRow, type NewOrderRow } from './lifecycle.queries.ts';
import type { OrderFacts, OrderStatus } from './order-state.ts';
import type { Order, OrderCreate } from './orders.models.ts';
import { missedReservation, shortage, type OrderPolicy } from './transitions.ts';
import { acceptanceView } from './views.ts';

/** An order as it was born: what the worker needs to carry on with it. */
export type Born = {
  facts: OrderFacts;
  status: OrderStatus;
  version: number;
  attempts: number;
  lastError: string | null;
  /** A pending order's first retry (null: nothing due, or due now). */
  nextAttemptInMs: number | null;
};

type IntakeWork = StockWork<IntakeResult> & { id: string; input: OrderCreate; scope: string; key: string | null; hash: string | null };
type IntakeResult = { kind: 'placed'; born: Born; batch: Ctx } | { kind: 'replay'; order: Order };
type Ctx = { prices: Map<string, string>; keyed: Map<string, KeyedOrder>; rows: NewOrderRow[]; logs: LogRow[]; records: OrderRecord[]; at?: string; counted?: boolean };

/** numeric(14, 2): the largest total an order can store, in cents. */
const MAX_TOTAL_CENTS = 99_999_999_999_999n;

const keyOf = (scope: string, key: string) => `${scope}\n${key}`;

/**
 * Durable intake, born reserved: each order asks its products' stock actor for its stock, and the
 * transaction that takes the stock stores the order (with every other order of the batch, one
 * INSERT) as `reserved`; an order whose stock is short is stored `pending` with its retry due.
 * Nobody gets a 202 before that transaction has committed. Prices come from the catalog, read in
 * the same transaction under the products' locks, never from the client.
 */
export class OrderIntake implements Participant<IntakeWork, Ctx> {
  private readonly keysInFlight = new Set<string>();
  /** Observer for metrics: orders stored by one statement. */
  onStored: (orders: number) => void = () => {};

  constructor(
    private readonly actors: StockActors,
    private readonly policy: OrderPolicy,
    /** Committed and answered: hand them to the worker. */
    private readonly onBorn: (born: Born) => void,
    /** The database went away mid-way: an order may be stored that nobody heard of. */
    private readonly onUncertain: () => void,
  ) {}

  /** `scope` is the credential's: two callers never collide on one Idempotency-Key. */
  async place(input: OrderCreate, idempotencyKey: string | undefined, scope: string): Promise<{ order: Order; replayed: boolean }> {
    const seen = new Map<string, number>();
    input.items.forEach((item, i) => {
      if (seen.has(item.productId)) {
        throw new AppError('validation', `product ${item.productId} appears more than once`, [
          { path: `body.items[${i}].productId`, message: `repeats items[${seen.get(item.productId)}]: order each product once, with its total quantity` },
        ]);
      }
      seen.set(item.productId, i);
    });
    for (const item of input.items) {
      if (this.actors.full(item.productId)) {
        throw new AppError('rate_limited', 'this product has more orders queued than it can take right now; retry shortly', undefined, { retryAfterSeconds: 1 });
      }
    }
    const key = idempotencyKey === undefined ? null : keyOf(scope, idempotencyKey);
    if (key !== null && this.keysInFlight.has(key)) throw conflict('a request with this Idempotency-Key is still being processed');
    const work: IntakeWork = {
      productIds: [...seen.keys()],
      participant: this as Participant<StockWork<IntakeResult>, unknown>,
      id: Bun.randomUUIDv7(),
      input,
      scope,
      key: idempotencyKey ?? null,
      hash: idempotencyKey === undefined ? null : requestHash(input),
    };
    if (key !== null) this.keysInFlight.add(key);
    try {
      const result = await this.actors.submit(work);
      if (result.kind === 'replay') return { order: result.order, replayed: true };
      const { batch } = result;
      if (!batch.counted) {
        batch.counted = true; // committed: counted once per statement
        this.onStored(batch.rows.length);
      }
      const born = { ...result.born, facts: { ...result.born.facts, createdAt: iso(batch.at!) } };
      this.onBorn(born);
      return { order: acceptanceView(born), replayed: false };
    } catch (error) {
      if (isDatabaseUnavailable(error)) this.onUncertain();
      throw error;
    } finally {
      if (key !== null) this.keysInFlight.delete(key);
    }
  }

  async read(tx: Executor, works: IntakeWork[]): Promise<Ctx> {
    const productIds = [...new Set(works.flatMap((w) => w.productIds))];
    const keys = works.flatMap((w) => (w.key === null ? [] : [{ scope: w.scope, key: w.key }]));
    const [prices, keyed] = await Promise.all([readPrices(tx, productIds), findKeyed(tx, keys)]);
    return {
      prices: new Map(prices.map((p) => [p.id, p.price])),
      keyed: new Map(keyed.map((k) => [keyOf(k.scope, k.key), k])),
      rows: [],
      logs: [],
      records: [],
    };
  }

  apply(desk: StockDesk, work: IntakeWork, ctx: Ctx): IntakeResult {
    if (work.key !== null) {
      const first = ctx.keyed.get(keyOf(work.scope, work.key));
      if (first) return replay(first, work.hash!);
    }
    const items = work.input.items;
    const unknown = items.map((item, i) => ({ item, i })).filter(({ item }) => !ctx.prices.has(item.productId) || !desk.has(item.productId));
    if (unknown.length > 0) {
      throw new AppError(
        'validation',
        `not orderable: ${unknown.map(({ item }) => item.productId).join(', ')}`,
        unknown.map(({ i }) => ({ path: `body.items[${i}].productId`, message: 'is not a product that can be ordered (unknown or archived)' })),
      );
    }
    const priced = items.map((item) => ({ productId: item.productId, quantity: item.quantity, unitPrice: ctx.prices.get(item.productId)! }));
    const cents = priced.reduce((sum, item) => sum + toCents(item.unitPrice) * BigInt(item.quantity), 0n);
    if (cents > MAX_TOTAL_CENTS) {
      throw new AppError('validation', `the order total ${fromCents(cents)} is more than an order can hold (${fromCents(MAX_TOTAL_CENTS)})`, [
        { path: 'body.items', message: 'prices × quantities exceed 999999999999.99' },
      ]);
    }
    for (const item of items) desk.notePlaced(item.productId);
    const facts: OrderFacts = { id: work.id, customerId: work.input.customerId, items: priced, total: fromCents(cents), createdAt: '' };
    const error = shortage(desk, items);
    let born: Born;
    if (error === null) {
      for (const item of items) desk.hold(item.productId, item.quantity);
      born = { facts, status: 'reserved', version: 1, attempts: 0, lastError: null, nextAttemptInMs: null };
    } else {
      // Intake is the first reservation attempt.
      const missed = missedReservation(this.policy, 1);
      born = { facts, status: missed.status, version: 1, attempts: 1, lastError: error, nextAttemptInMs: missed.delayMs };
      ctx.logs.push({ orderId: work.id, status: born.status, message: missed.log, errorMessage: error });
    }
    ctx.rows.push({
      id: work.id,
      customerId: born.facts.customerId,
      status: born.status,
      items: priced,
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
    ctx.records.push({
      id: work.id,
      status: born.status,
      previous: null,
      version: 1,
      ...(born.attempts ? { attempts: born.attempts } : {}),
      ...(born.lastError ? { lastError: born.lastError } : {}),
      ...(born.nextAttemptInMs !== null ? { nextAttemptInMs: born.nextAttemptInMs } : {}),
    });
    return { kind: 'placed', born, batch: ctx };
  }

  prepare(_applied: Applied<IntakeWork>[], ctx: Ctx) {
    return {
      outbox: { orders: ctx.records },
      write: async (tx: Executor) => {
        if (ctx.rows.length === 0) return;
        // A key taken by another process since it was read fails the statement: the batch is redone.
        ctx.at = await insertOrders(tx, ctx.rows, ctx.logs);
      },
    };
  }
}

/** Keys seen before: the same body gets the first answer again, another body a 422. */
function replay(first: KeyedOrder, hash: string): IntakeResult {
  if (first.requestHash !== hash) {
    throw new AppError('validation', 'this Idempotency-Key was used with a different request body', [
      { path: 'headers.idempotency-key', message: 'was already used for another request' },
    ]);
  }
  const createdAt = iso(first.createdAt);
  // The status it was born with: reserved (held at once), failed (never had a chance), or pending.
  const bornReserved = first.reservedAt !== null && iso(first.reservedAt) === createdAt;
  const bornFailed = first.status === 'failed' && iso(first.updatedAt) === createdAt;
  const status: OrderStatus = bornReserved ? 'reserved' : bornFailed ? 'failed' : 'pending';
  const order = acceptanceView({
    facts: { id: first.id, customerId: first.customerId, items: first.items, total: first.total, createdAt },
    status,
    version: 1,
    attempts: status === 'reserved' ? 0 : 1,
    lastError: status === 'reserved' ? null : first.lastError,
    nextAttemptInMs: null,
  });
  return { kind: 'replay', order };
}

/** Same customer and the same lines in the same order: the same request. */
function requestHash(input: OrderCreate): string {
  const canonical = JSON.stringify([input.customerId, input.items.map((i) => [i.productId, i.quantity])]);
  return createHash('sha256').update(canonical).digest('hex');
}
