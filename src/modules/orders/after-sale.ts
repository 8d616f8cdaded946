import type { StockDesk } from '../../actors/stock-plan.ts';
import { AppError, conflict } from '../../lib/errors.ts';
import { fromCents, toCents } from '../../lib/money.ts';
import { returnRefundKey } from '../payments/gateway.ts';
import type { FulfilmentCreate, ReturnCreate } from './after-sale.models.ts';
import { unitsByProduct } from './allocations.ts';
import type { Documents, Idempotency, NewFulfilment, NewReturn } from './documents.queries.ts';
import { unchanged, type Decision, type OrderPolicy, type Working } from './transitions.ts';

/**
 * The steps after payment (order-state.ts): a parcel leaves one location (`fulfil`), everything
 * left leaves (`shipRest`), units come back (`takeReturn`). Each decides on the batch's copy of the
 * levels and of the order with its documents, under the products' stock locks, and answers the
 * order's next state with the documents it made. A refused step throws: 422 for what can never be
 * valid for this order (a product it does not have, a location it has nothing at, a choice of
 * several locations to make), 409 for what its state forbids now (more than is left).
 */

/** A document a step made, as it is to be stored. */
export type Made = { kind: 'fulfilment'; row: NewFulfilment } | { kind: 'return'; row: NewReturn };

export type FulfilRequest = { id: string; input: FulfilmentCreate; idempotency: Idempotency | null };
export type ReturnRequest = { id: string; input: ReturnCreate; idempotency: Idempotency | null };

type Line = { productId: string; quantity: number };
/** Units by product, then by location. */
type Units = Map<string, Map<string, number>>;

function add(units: Units, productId: string, locationId: string, quantity: number) {
  const places = units.get(productId) ?? new Map<string, number>();
  places.set(locationId, (places.get(locationId) ?? 0) + quantity);
  units.set(productId, places);
}

const sum = (places: ReadonlyMap<string, number> | undefined) => [...(places?.values() ?? [])].reduce((a, b) => a + b, 0);
const describe = (lines: readonly Line[]) => lines.map((l) => `${l.quantity} × ${l.productId}`).join(', ');

function allocated(order: Working, desk: StockDesk): Units {
  const units: Units = new Map();
  for (const [productId, places] of unitsByProduct(order, desk.defaultLocationId)) for (const p of places) add(units, productId, p.locationId, p.quantity);
  return units;
}

/** What has left, by product and location: the fulfilments; an order shipped before there were any shipped everything it held. */
function shipped(order: Working, docs: Documents, desk: StockDesk): Units {
  if (order.status === 'shipped' && docs.fulfilments.length === 0) return allocated(order, desk);
  const units: Units = new Map();
  for (const f of docs.fulfilments) for (const item of f.items) add(units, item.productId, f.locationId, item.quantity);
  return units;
}

/** What is allocated and has not left yet, by product and location. */
function unshipped(order: Working, docs: Documents, desk: StockDesk): Units {
  const left = allocated(order, desk);
  for (const [productId, places] of shipped(order, docs, desk)) for (const [locationId, quantity] of places) add(left, productId, locationId, -quantity);
  return left;
}

/** Each product of the order at most once, and only products of the order: anything else can never be valid (422). */
function checkLines(order: Working, lines: readonly Line[]) {
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    const path = `body.items[${i}].productId`;
    if (seen.has(line.productId)) throw new AppError('validation', `product ${line.productId} appears more than once`, [{ path, message: 'repeats an earlier line' }]);
    seen.add(line.productId);
    if (!order.items.some((item) => item.productId === line.productId)) {
      throw new AppError('validation', `product ${line.productId} is not in order ${order.id}`, [{ path, message: 'is not a product of this order' }]);
    }
  });
}

/** The one location of `places`; none is `none`'s conflict, several a 422 asking the caller to name one. */
function onlyPlace(places: ReadonlySet<string>, none: () => AppError, what: string): string {
  if (places.size === 0) throw none();
  if (places.size > 1) {
    throw new AppError('validation', `${what} at several locations (${[...places].join(', ')}): name one`, [{ path: 'body.locationId', message: 'is needed: the units are at several locations' }]);
  }
  return [...places][0]!;
}

/** Where a parcel leaves from: the location named (one the order has units at), or the one place the named units are still unshipped. */
function parcelFrom(order: Working, input: FulfilmentCreate, held: Units, left: Units): string {
  const named = input.locationId;
  if (named === undefined) {
    const places = new Set(input.items.flatMap((line) => [...(left.get(line.productId) ?? [])].filter(([, n]) => n > 0).map(([place]) => place)));
    return onlyPlace(places, () => conflict('nothing of these products is left to ship'), 'these units are unshipped');
  }
  if (![...held.values()].some((places) => (places.get(named) ?? 0) > 0)) {
    throw new AppError('validation', `order ${order.id} has nothing at location ${named}`, [{ path: 'body.locationId', message: 'is not a location this order has units at' }]);
  }
  return named;
}

/** A parcel of a processed order leaves one location: awaiting shipment falls there; the last unit to leave makes the order `shipped`. */
export function fulfil(order: Working, docs: Documents, desk: StockDesk, request: FulfilRequest): Decision {
  if (order.status !== 'processed') throw conflict(`only a processed order ships; this one is ${order.status}`, { orderStatus: order.status });
  const { input } = request;
  checkLines(order, input.items);
  const held = allocated(order, desk);
  const left = unshipped(order, docs, desk);
  const locationId = parcelFrom(order, input, held, left);
  input.items.forEach((line, i) => {
    if (!held.get(line.productId)?.get(locationId)) {
      throw new AppError('validation', `product ${line.productId} has no units of this order at location ${locationId}`, [
        { path: `body.items[${i}].productId`, message: 'has no units of this order at that location' },
      ]);
    }
    const there = left.get(line.productId)?.get(locationId) ?? 0;
    if (line.quantity > there) throw conflict(`only ${there} of product ${line.productId} left to ship from ${locationId}, not ${line.quantity}`, { productId: line.productId, unshipped: there });
    desk.shipOut(line.productId, [{ locationId, quantity: line.quantity }]);
  });
  const fulfilment = {
    id: request.id,
    orderId: order.id,
    locationId,
    items: input.items.map(({ productId, quantity }) => ({ productId, quantity })),
    trackingNumber: input.trackingNumber ?? null,
    createdAt: desk.at,
  };
  const done = [...left.values()].reduce((n, places) => n + sum(places), 0) === input.items.reduce((n, line) => n + line.quantity, 0);
  return {
    ...unchanged(order),
    status: done ? 'shipped' : 'processed',
    stamp: done ? 'shipped' : null,
    log: { message: `fulfilment ${fulfilment.id}: ${describe(fulfilment.items)} left ${locationId}`, error: null },
    made: [{ kind: 'fulfilment', row: { fulfilment, idempotency: request.idempotency } }],
  };
}

/** processed → shipped: everything not shipped yet leaves where it was allocated, one fulfilment per location. */
export function shipRest(order: Working, docs: Documents, desk: StockDesk): Decision {
  if (order.status !== 'processed') throw conflict(`only processed orders can be shipped; this one is ${order.status}`, { orderStatus: order.status });
  const byPlace = new Map<string, Line[]>();
  for (const [productId, places] of unshipped(order, docs, desk)) {
    for (const [locationId, quantity] of places) if (quantity > 0) byPlace.set(locationId, [...(byPlace.get(locationId) ?? []), { productId, quantity }]);
  }
  const parcels = [...byPlace].map(([locationId, items]) => {
    for (const line of items) desk.shipOut(line.productId, [{ locationId, quantity: line.quantity }]);
    return { id: Bun.randomUUIDv7(), orderId: order.id, locationId, items, trackingNumber: null, createdAt: desk.at };
  });
  return {
    ...unchanged(order),
    status: 'shipped',
    stamp: 'shipped',
    // Its log is the order's `shipped` step; the parcels are on the order.
    made: parcels.map((fulfilment) => ({ kind: 'fulfilment', row: { fulfilment, idempotency: null } })),
  };
}

/**
 * Units that shipped come back to one location: `restock` ones are on hand there again (a
 * `return` movement naming the return), `damaged` ones change no count. With a refund, its amount
 * is the returned units' prices, and it is pending until the provider answers (the caller asks).
 */
export function takeReturn(order: Working, docs: Documents, desk: StockDesk, request: ReturnRequest, policy: OrderPolicy): Decision {
  const out = shipped(order, docs, desk);
  if ((order.status !== 'processed' && order.status !== 'shipped') || out.size === 0) {
    throw conflict(`only shipped units can come back; nothing of this ${order.status} order has shipped`, { orderStatus: order.status });
  }
  const { input } = request;
  checkLines(order, input.items);
  const back = new Map<string, number>();
  for (const r of docs.returns) for (const item of r.items) back.set(item.productId, (back.get(item.productId) ?? 0) + item.quantity);
  for (const line of input.items) {
    const returnable = sum(out.get(line.productId)) - (back.get(line.productId) ?? 0);
    if (line.quantity > returnable) throw conflict(`only ${returnable} of product ${line.productId} shipped and not yet returned, not ${line.quantity}`, { productId: line.productId, returnable });
  }
  const locationId = input.locationId ?? onlyPlace(new Set(input.items.flatMap((line) => [...(out.get(line.productId)?.keys() ?? [])])), () => conflict('nothing shipped'), 'these units shipped');
  const location = desk.location(locationId);
  if (!location?.active) {
    throw new AppError('validation', `location ${locationId} ${location ? 'is inactive' : 'does not exist'}`, [
      { path: 'body.locationId', message: location ? 'is an inactive location' : 'is not a location: name where the units came back to' },
    ]);
  }
  for (const line of input.items) if (line.disposition === 'restock') desk.move(line.productId, locationId, line.quantity, 'return', { returnId: request.id });
  const cents = input.items.reduce((total, line) => total + toCents(order.items.find((i) => i.productId === line.productId)!.unitPrice) * BigInt(line.quantity), 0n);
  const refunding = input.refund !== false && cents > 0n;
  if (refunding && order.paymentReference === null) throw conflict(`order ${order.id} has no charge to refund`);
  const doc = {
    id: request.id,
    orderId: order.id,
    locationId,
    items: input.items.map(({ productId, quantity, disposition }) => ({ productId, quantity, disposition })),
    refund: refunding ? { status: 'pending' as const, amount: fromCents(cents), reference: null } : null,
    createdAt: desk.at,
  };
  const refundKey = refunding ? returnRefundKey(doc.id) : null;
  return {
    ...unchanged(order),
    status: order.status,
    log: { message: `return ${doc.id}: ${describe(doc.items)} back at ${locationId}${refunding ? `; refund of ${doc.refund!.amount} pending` : ''}`, error: null },
    made: [{ kind: 'return', row: { doc, idempotency: request.idempotency, refundKey, refundDelayMs: policy.reconcileDelayMs, horizonMs: policy.reconcileHorizonMs } }],
  };
}

/** A processed order with units gone cannot be cancelled: what came back is a return. */
export function assertNothingShipped(docs: Documents) {
  if (docs.fulfilments.length > 0) throw conflict('this order has shipped units and cannot be cancelled: what comes back is a return', { fulfilments: docs.fulfilments.length });
}
