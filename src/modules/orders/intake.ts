import { createHash } from 'node:crypto';
import { iso, PgCode, pgCode, type Sql } from '../../db/client.ts';
import { AppError, conflict } from '../../http/errors.ts';
import { Batcher } from '../../lib/batcher.ts';
import { fromCents, toCents } from '../../lib/money.ts';
import type { Order, OrderCreate } from './orders.models.ts';
import type { OrderItem } from './order-state.ts';
import * as q from './intake.queries.ts';
import { findOrder } from './orders.queries.ts';
import { acceptanceView } from './views.ts';

/** What the pipeline needs to start on an order it has just accepted. */
export type AcceptedWork = { id: string; version: number; total: string; items: OrderItem[] };

type Prepared = { input: OrderCreate; key: string | null; hash: string | null };
type Priced = q.IntakeOrder & { total: string; items: { productId: string; quantity: number; unitPrice: string }[] };
type Placed = { order: Order; replayed: boolean };

export type IntakeOptions = {
  owner: string;
  leaseMs: number;
  maxBatch: number;
  lingerMs: number;
  maxInFlight: number;
  /** Orders committed and answered: hand them to the pipeline. */
  onAccepted: (work: AcceptedWork[]) => void;
  /** A product whose stock mailbox is full gets no new orders for now (429). */
  isSaturated: (productId: string) => boolean;
};

const MAX_FK_RETRIES = 2;

/**
 * Durable intake. Concurrent `POST /orders` are grouped for a moment and stored together in one
 * statement; nobody gets a 202 before that statement has committed. Prices come from the catalog,
 * read by that same statement, never from the client.
 */
export class OrderIntake {
  private readonly batcher: Batcher<Prepared, Placed | AppError>;
  private readonly keysInFlight = new Set<string>();
  /** Observer for metrics: orders stored by one statement. */
  onBatch: (accepted: number) => void = () => {};

  constructor(
    private readonly sql: Sql,
    private readonly options: IntakeOptions,
  ) {
    this.batcher = new Batcher((items) => this.flush(items), {
      maxBatch: options.maxBatch,
      lingerMs: options.lingerMs,
      maxInFlight: options.maxInFlight,
    });
  }

  get depth(): number {
    return this.batcher.depth;
  }

  async place(input: OrderCreate, idempotencyKey: string | undefined, scope: string): Promise<Placed> {
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
      if (this.options.isSaturated(item.productId)) {
        throw new AppError('rate_limited', 'this product has more orders queued than it can take right now; retry shortly', undefined, {
          retryAfterSeconds: 1,
        });
      }
    }
    if (idempotencyKey === undefined) return this.unwrap(await this.batcher.add({ input, key: null, hash: null }));
    // scope: replaced by the lead's schema (a scope column beside the key); until then the stored
    // key carries the credential's scope, so two credentials never share one key.
    const scopedKey = `${scope}\n${idempotencyKey}`;
    if (this.keysInFlight.has(scopedKey)) throw conflict('a request with this Idempotency-Key is still being processed');
    this.keysInFlight.add(scopedKey);
    try {
      return this.unwrap(await this.batcher.add({ input, key: scopedKey, hash: requestHash(input) }));
    } finally {
      this.keysInFlight.delete(scopedKey);
    }
  }

  drain(): Promise<void> {
    return this.batcher.drain();
  }

  private unwrap(result: Placed | AppError): Placed {
    if (result instanceof AppError) throw result;
    return result;
  }

  private async flush(batch: Prepared[]): Promise<(Placed | AppError)[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.flushOnce(batch);
      } catch (error) {
        // A product erased between the price lookup and the insert: look again.
        if (pgCode(error) !== PgCode.foreignKeyViolation || attempt > MAX_FK_RETRIES) throw error;
      }
    }
  }

  private async flushOnce(batch: Prepared[]): Promise<(Placed | AppError)[]> {
    const orders = batch.map((prepared) => ({
      id: Bun.randomUUIDv7(),
      customerId: prepared.input.customerId,
      idempotencyKey: prepared.key,
      requestHash: prepared.hash,
      items: prepared.input.items,
    }));
    const { accepted, prices, at } = await q.insertOrders(this.sql, orders, { owner: this.options.owner, leaseMs: this.options.leaseMs });
    this.onBatch(accepted.size);
    const createdAt = iso(at);
    const results: (Placed | AppError)[] = new Array(batch.length);
    const work: AcceptedWork[] = [];
    const replays: (Priced & { index: number })[] = [];
    orders.forEach((order, index) => {
      const unknown = order.items.map((item, i) => ({ item, i })).filter(({ item }) => !prices.has(item.productId));
      if (unknown.length > 0) {
        results[index] = new AppError(
          'validation',
          `not orderable: ${unknown.map(({ item }) => item.productId).join(', ')}`,
          unknown.map(({ i }) => ({ path: `body.items[${i}].productId`, message: 'is not a product that can be ordered (unknown or archived)' })),
        );
        return;
      }
      const items = order.items.map((item) => ({ productId: item.productId, quantity: item.quantity, unitPrice: prices.get(item.productId)! }));
      const total = fromCents(items.reduce((sum, item) => sum + toCents(item.unitPrice) * BigInt(item.quantity), 0n));
      if (!accepted.has(order.id)) {
        replays.push({ ...order, items, total, index });
        return;
      }
      results[index] = { order: acceptanceView({ ...order, items, total, createdAt }), replayed: false };
      work.push({ id: order.id, version: 1, total, items: order.items.map(({ productId, quantity }) => ({ productId, quantity })) });
    });
    if (replays.length > 0) await this.replay(replays, results);
    if (work.length > 0) this.options.onAccepted(work);
    return results;
  }

  /** Keys seen before: the same body gets the first answer again, another body a 422. */
  private async replay(orders: (Priced & { index: number })[], results: (Placed | AppError | undefined)[]) {
    const stored = new Map((await q.findKeys(this.sql, orders.map((o) => o.idempotencyKey!))).map((k) => [k.key, k]));
    for (const order of orders) {
      const key = stored.get(order.idempotencyKey!);
      if (!key) throw new Error(`idempotency key ${order.idempotencyKey} conflicted but cannot be read`);
      if (key.requestHash !== order.requestHash) {
        results[order.index] = new AppError('validation', 'this Idempotency-Key was used with a different request body', [
          { path: 'headers.idempotency-key', message: 'was already used for another request' },
        ]);
        continue;
      }
      const first = await findOrder(this.sql, key.orderId);
      if (!first) throw new Error(`order ${key.orderId} of idempotency key ${key.key} is missing`);
      results[order.index] = {
        order: acceptanceView({ id: first.id, customerId: first.customerId, total: first.total, items: first.items, createdAt: iso(first.createdAt) }),
        replayed: true,
      };
    }
  }
}

/** Same customer and the same lines in the same order: the same request. */
function requestHash(input: OrderCreate): string {
  const canonical = JSON.stringify([input.customerId, input.items.map((i) => [i.productId, i.quantity])]);
  return createHash('sha256').update(canonical).digest('hex');
}
