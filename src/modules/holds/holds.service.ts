import { createHash } from 'node:crypto';
import type { StockActors } from '../../actors/stock-actors.ts';
import type { Sql } from '../../db/client.ts';
import { AppError, conflict, notFound } from '../../lib/errors.ts';
import { decodeCursor, isUuidKey, pageOf } from '../../lib/paging.ts';
import { distinctProducts } from '../orders/allocations.ts';
import { holdView, keyOf, statusOf } from './hold-book.ts';
import type { HoldKeeper } from './hold-keeper.ts';
import type { HoldCommand, NewHold } from './hold-rules.ts';
import { TTL_SECONDS, type Hold, type HoldCreate, type HoldListQuery } from './holds.models.ts';
import { findHold, listHolds, type HoldRow } from './holds.queries.ts';

/**
 * What clients do with holds. Every change goes through the products' stock actors, in the same
 * batches as their orders; reads go straight to the database. `customerId` is a customer token's
 * restriction: another customer's hold is not found.
 */
export class HoldsService {
  /** Idempotency keys (in their scopes) whose first request is still on its way. */
  private readonly keysInFlight = new Set<string>();

  constructor(
    private readonly sql: Sql,
    private readonly actors: StockActors,
    private readonly keeper: HoldKeeper,
  ) {}

  /** Answered once the stock is held and stored, or refused (409) with every short line, holding nothing. */
  async create(input: HoldCreate, idempotencyKey: string | undefined, scope: string, customerId?: string): Promise<{ hold: Hold; replayed: boolean }> {
    const productIds = distinctProducts(input.items);
    if (productIds.some((id) => this.actors.full(id))) {
      throw new AppError('rate_limited', 'this product has more work queued than it can take right now; retry shortly', undefined, { retryAfterSeconds: 1 });
    }
    const inFlight = idempotencyKey === undefined ? null : keyOf(scope, idempotencyKey);
    if (inFlight !== null && this.keysInFlight.has(inFlight)) throw conflict('a request with this Idempotency-Key is still being processed');
    const hold: NewHold = {
      customerId: input.customerId ?? customerId ?? null,
      items: input.items,
      ttlSeconds: input.ttlSeconds ?? TTL_SECONDS.default,
      ...(input.locationIds ? { locationIds: input.locationIds } : {}),
    };
    const command: HoldCommand = {
      kind: 'create',
      id: Bun.randomUUIDv7(),
      input: hold,
      scope,
      key: idempotencyKey ?? null,
      hash: idempotencyKey === undefined ? null : requestHash(hold),
    };
    if (inFlight !== null) this.keysInFlight.add(inFlight);
    try {
      const outcome = await this.actors.submit(this.keeper.work(productIds, command));
      if (outcome.kind === 'short') {
        const lines = outcome.items.map((i) => `${i.quantity} × ${i.productId} (${i.available} available)`).join(', ');
        throw conflict(`not enough stock to hold ${lines}; nothing was held`, { items: outcome.items });
      }
      if (outcome.kind !== 'held') throw new Error(`invariant: a new hold came back as ${outcome.kind}`);
      return { hold: outcome.hold, replayed: outcome.replayed };
    } finally {
      if (inFlight !== null) this.keysInFlight.delete(inFlight);
    }
  }

  async get(id: string, customerId?: string): Promise<Hold> {
    return holdView(await this.find(id, customerId));
  }

  async list(query: HoldListQuery, customerId?: string): Promise<{ items: Hold[]; nextCursor: string | null }> {
    if (customerId !== undefined && query.customerId !== undefined && query.customerId !== customerId) return { items: [], nextCursor: null };
    const limit = query.limit ?? 50;
    const before = decodeCursor(query.cursor, isUuidKey);
    const rows = await listHolds(this.sql, { ...query, customerId: customerId ?? query.customerId, beforeId: before?.[0], limit: limit + 1 });
    return pageOf(rows, limit, holdView, (row) => [row.id]);
  }

  /** A new expiry, `ttlSeconds` from now; an expired, released or converted hold → 409. */
  async extend(id: string, ttlSeconds: number, customerId?: string): Promise<Hold> {
    const hold = await this.find(id, customerId);
    const status = statusOf(hold);
    if (status !== 'active') throw conflict(`a hold that is ${status} cannot be extended`, { holdStatus: status });
    return this.change(hold, { kind: 'extend', holdId: id, ttlSeconds, customerId });
  }

  /** Its stock is on sale again at once; a hold that is no longer active is left as it is. */
  async release(id: string, customerId?: string): Promise<void> {
    const hold = await this.find(id, customerId);
    if (statusOf(hold) !== 'active') return;
    await this.change(hold, { kind: 'release', holdId: id, customerId });
  }

  /** A change of an existing hold, under the locks of all its products (its lines never change, so they are known beforehand). */
  private async change(hold: HoldRow, command: HoldCommand): Promise<Hold> {
    const outcome = await this.actors.submit(this.keeper.work([...new Set(hold.items.map((i) => i.productId))], command));
    if (outcome.kind !== 'hold') throw new Error(`invariant: a hold change came back as ${outcome.kind}`);
    return outcome.hold;
  }

  private async find(id: string, customerId: string | undefined): Promise<HoldRow> {
    const hold = await findHold(this.sql, id);
    if (!hold || (customerId !== undefined && hold.customerId !== customerId)) throw notFound(`hold ${id}`);
    return hold;
  }
}

/** The same customer, lines, time and locations: the same request. */
function requestHash(hold: NewHold): string {
  const canonical = JSON.stringify([hold.customerId, hold.items.map((i) => [i.productId, i.quantity]), hold.ttlSeconds, hold.locationIds ?? null]);
  return createHash('sha256').update(canonical).digest('hex');
}
