import { createHash } from 'node:crypto';
import type { StockActors } from '../../actors/stock-actors.ts';
import type { Sql } from '../../db/client.ts';
import { conflict, notFound } from '../../lib/errors.ts';
import { returnRefundKey } from '../payments/gateway.ts';
import type { Fulfilment, FulfilmentCreate, Return, ReturnCreate } from './after-sale.models.ts';
import { readDocuments, type Idempotency } from './documents.queries.ts';
import type { Order } from './orders.models.ts';
import { findOrder } from './orders.queries.ts';
import type { Refunds } from './refunds.ts';
import type { Document, OrderSteps, StepOutcome } from './steps.ts';
import type { Step } from './transitions.ts';

/** Same order, same request: the same hash (the Idempotency-Key compares it). */
const hashOf = (parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex');

/**
 * Shipping and returns of paid orders, as clients ask for them. Each is a step of the order under
 * its products' stock locks (after-sale.ts decides it); a return's refund is asked for right after
 * the return is stored, and answered with what the provider said.
 */
export class AfterSaleService {
  /** Idempotency-Keys (in their scopes) whose first request is still on its way. */
  private readonly keysInFlight = new Set<string>();

  constructor(
    private readonly sql: Sql,
    private readonly actors: StockActors,
    private readonly steps: OrderSteps,
    private readonly refunds: Refunds,
    /** The order as the API shows it now. */
    private readonly view: (id: string) => Promise<Order>,
  ) {}

  /** A parcel of a processed order leaves one location. */
  async fulfil(orderId: string, input: FulfilmentCreate, key: string | undefined, scope: string): Promise<{ fulfilment: Fulfilment; replayed: boolean }> {
    const parts = [orderId, input.locationId ?? null, input.items.map((l) => [l.productId, l.quantity]), input.trackingNumber ?? null];
    const { document, replayed } = await this.step(orderId, key, scope, parts, (request) => ({ kind: 'fulfil', request: { ...request, input } }));
    if (document.kind !== 'fulfilment') throw new Error('invariant: a fulfilment step made no fulfilment');
    return { fulfilment: document.doc, replayed };
  }

  /** Units that shipped come back; with a refund, the provider is asked before this answers. */
  async takeReturn(orderId: string, input: ReturnCreate, key: string | undefined, scope: string): Promise<{ return: Return; replayed: boolean }> {
    const refund = input.refund ?? true;
    const parts = [orderId, input.locationId ?? null, input.items.map((l) => [l.productId, l.quantity, l.disposition]), refund];
    const { document, replayed } = await this.step(orderId, key, scope, parts, (request) => ({ kind: 'return', request: { ...request, input: { ...input, refund } } }));
    if (document.kind !== 'return') throw new Error('invariant: a return step made no return');
    const made = document.doc;
    if (replayed || made.refund?.status !== 'pending') return { return: made, replayed };
    const chargeId = (await findOrder(this.sql, orderId))?.paymentReference ?? null;
    await this.refunds.ask({ returnId: made.id, orderId, chargeId, key: returnRefundKey(made.id), amount: made.refund.amount, attempts: 0, lastChance: false });
    const now = (await readDocuments(this.sql, [orderId])).get(orderId)?.returns.find((r) => r.id === made.id);
    return { return: now ?? made, replayed };
  }

  /** processed → shipped: everything not shipped yet leaves where it was allocated, a fulfilment per location. */
  async ship(orderId: string): Promise<Order> {
    const row = await findOrder(this.sql, orderId);
    if (!row) throw notFound(`order ${orderId}`);
    if (row.status !== 'processed') throw conflict(`only processed orders can be shipped; this one is ${row.status}`, { orderStatus: row.status });
    await this.actors.submit(this.steps.work(orderId, row.items, { kind: 'ship' }));
    return this.view(orderId);
  }

  /** Runs a document-making step once per Idempotency-Key: a key still in flight is 409, a key seen before its first document. */
  private async step(
    orderId: string,
    key: string | undefined,
    scope: string,
    parts: unknown[],
    step: (request: { id: string; idempotency: Idempotency | null }) => Step,
  ): Promise<{ document: Document; replayed: boolean }> {
    const row = await findOrder(this.sql, orderId);
    if (!row) throw notFound(`order ${orderId}`);
    const idempotency = key === undefined ? null : { scope, key, hash: hashOf(parts) };
    const inFlight = idempotency && `${scope}\n${key}`;
    if (inFlight && this.keysInFlight.has(inFlight)) throw conflict('a request with this Idempotency-Key is still being processed');
    if (inFlight) this.keysInFlight.add(inFlight);
    try {
      const outcome: StepOutcome = await this.actors.submit(this.steps.work(orderId, row.items, step({ id: Bun.randomUUIDv7(), idempotency })));
      if (outcome.outcome === 'replayed') return { document: outcome.document, replayed: true };
      if (outcome.outcome !== 'moved' || outcome.made.length !== 1) throw new Error(`invariant: a document step came to ${outcome.outcome}`);
      return { document: outcome.made[0]!, replayed: false };
    } finally {
      if (inFlight) this.keysInFlight.delete(inFlight);
    }
  }
}
