import { createHash } from 'node:crypto';
import type { StockActors } from '../../actors/stock-actors.ts';
import type { Participant, StockWork } from '../../actors/stock-engine.ts';
import { isDatabaseUnavailable } from '../../db/client.ts';
import { AppError, conflict } from '../../lib/errors.ts';
import { distinctProducts } from './allocations.ts';
import { keyOf, type Born, type IntakeBatch, type IntakeResult, type IntakeWork } from './intake-batch.ts';
import type { Order, OrderCreate } from './orders.models.ts';
import { acceptanceView } from './views.ts';

/**
 * Placing an order: checked, admitted, handed to its products' stock actor, and answered once the
 * transaction that stored it committed (durable before the 202). What the transaction does is
 * `IntakeBatch`'s; this is the caller's side.
 */
export class OrderIntake {
  /** Idempotency keys (in their scopes) whose first request is still on its way. */
  private readonly keysInFlight = new Set<string>();

  constructor(
    private readonly actors: StockActors,
    private readonly batch: IntakeBatch,
    /** Stored and answered: the worker carries it on. */
    private readonly onBorn: (born: Born) => void,
    /** The database went away mid-way: an order may be stored that nobody heard of. */
    private readonly onUncertain: () => void,
  ) {}

  /** `scope` is the credential's: two callers never collide on one Idempotency-Key. */
  async place(input: OrderCreate, idempotencyKey: string | undefined, scope: string): Promise<{ order: Order; replayed: boolean }> {
    const productIds = distinctProducts(input.items);
    if (productIds.some((id) => this.actors.full(id))) {
      throw new AppError('rate_limited', 'this product has more orders queued than it can take right now; retry shortly', undefined, { retryAfterSeconds: 1 });
    }
    const key = idempotencyKey === undefined ? null : keyOf(scope, idempotencyKey);
    if (key !== null && this.keysInFlight.has(key)) throw conflict('a request with this Idempotency-Key is still being processed');
    const work: IntakeWork = {
      productIds,
      participant: this.batch as Participant<StockWork<IntakeResult>, unknown>,
      ...(input.holdId === undefined ? {} : { keeps: [input.holdId] }),
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
      this.onBorn(result.born);
      return { order: acceptanceView(result.born), replayed: false };
    } catch (error) {
      if (isDatabaseUnavailable(error)) this.onUncertain();
      throw error;
    } finally {
      if (key !== null) this.keysInFlight.delete(key);
    }
  }
}

/** Same customer, the same lines in the same order, the same locations and hold: the same request. */
function requestHash(input: OrderCreate): string {
  const parts: unknown[] = [input.customerId, input.items.map((i) => [i.productId, i.quantity])];
  // Named only when given: a key stored before orders could name locations (or holds) still matches its body.
  if (input.locationIds) parts.push(input.locationIds);
  if (input.holdId) parts.push({ holdId: input.holdId });
  const canonical = JSON.stringify(parts);
  return createHash('sha256').update(canonical).digest('hex');
}
