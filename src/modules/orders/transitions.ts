import type { StockDesk } from '../../actors/stock-plan.ts';
import { conflict } from '../../lib/errors.ts';
import { assertNothingShipped, type FulfilRequest, type Made, type ReturnRequest } from './after-sale.ts';
import { allocateLines, allowedLocations, shortage, unitsByProduct, type Line } from './allocations.ts';
import type { Documents } from './documents.queries.ts';
import type { OrderState } from './lifecycle.queries.ts';
import type { LineAllocation, OrderStatus, PaymentStatus } from './order-state.ts';

export type { Line };

/**
 * The order state machine after intake (order-state.ts draws it): one function per step. Each
 * decides on the batch's copy of the levels and of the order, under the products' stock locks,
 * and answers the order's next state in full, or why it does not move.
 */

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

export type Payment = { status: PaymentStatus; reference: string | null; attempts: number };
export type Stamp = 'reserved' | 'processed' | 'shipped';

/** One step of an existing order. Steps of a worker name the version they last saw (their fence). */
export type Step =
  /** pending → reserved, or another try later, or failed once the attempts are used up. */
  | { kind: 'reserve'; version: number }
  /** reserved → processed: paid; the held stock is sold. */
  | { kind: 'sell'; version: number; charge: string; attempts: number }
  /** reserved → failed: the payment gave up (or the order was stuck); the stock goes back on sale. */
  | { kind: 'fail'; version: number; error: string; payment: { status: PaymentStatus; attempts: number }; reconcile: boolean; message?: string }
  /** reserved → reserved: a payment attempt failed, the next one is due after `delayMs`. */
  | { kind: 'retry-payment'; version: number; attempts: number; maxAttempts: number; error: string; delayMs: number }
  /** The customer's decision: wins over any worker (not fenced on a version) and fences them out. */
  | { kind: 'cancel' }
  /** After payment (after-sale.ts): a parcel leaves, everything left leaves, units come back. */
  | { kind: 'fulfil'; request: FulfilRequest }
  | { kind: 'ship' }
  | { kind: 'return'; request: ReturnRequest };

/** An order as the batch sees it: its row as read, with this batch's changes so far. */
export type Working = OrderState;

/** An order's state after a step, every field said. */
export type Next = {
  status: OrderStatus;
  attempts: number;
  lastError: string | null;
  payment: Payment | null;
  /** The order is due again after this long (a retry of its stock or its payment); null: nothing is due. */
  retryInMs: number | null;
  /** This process goes on with the order now (it keeps, or takes, the lease). */
  leased: boolean;
  /** Ask the payment provider about the order after this long; null: no new look (one already due stays due). */
  reconcileInMs: number | null;
  /** The normal step this is, whose time the order keeps (its log derives an entry from it). */
  stamp: Stamp | null;
  /** What is not a normal step (a retry, a failure, a cancel) is written down, with the error it was about. */
  log: { message: string; error: string | null } | null;
  /** Where its units are now held, when this step allocated them (null: as they were). */
  allocations: LineAllocation[] | null;
  /** The fulfilments and returns this step made, in order: each is a change of the order, and an event, of its own. */
  made: Made[];
};

/** The step does not apply: the order moved on since the worker last saw it (it lets the order go). */
export const STALE = 'stale' as const;
/** The step asks for what already is (cancelling a cancelled order). */
export const UNCHANGED = 'unchanged' as const;
export type Decision = Next | typeof STALE | typeof UNCHANGED;

const paymentOf = (order: Working): Payment | null =>
  order.paymentStatus === null ? null : { status: order.paymentStatus, reference: order.paymentReference, attempts: order.paymentAttempts };

/** The order as it is, nothing due, nobody holding it: what a step starts from. */
export const unchanged = (order: Working): Omit<Next, 'status'> => ({
  attempts: order.attempts,
  lastError: order.lastError,
  payment: paymentOf(order),
  retryInMs: null,
  leased: false,
  reconcileInMs: null,
  stamp: null,
  log: null,
  allocations: null,
  made: [],
});

/** A worker's step applies only to the order as that worker last saw it. */
const fenced = (order: Working, status: OrderStatus, version: number) => order.status === status && order.version === version;

const describe = (lines: readonly Line[]) => lines.map((l) => `${l.quantity} × ${l.productId}`).join(', ');

/** Reservation attempt `attempts` found too little stock: the order fails, or tries again after `delayMs`. */
export function missedReservation(policy: OrderPolicy, attempts: number): { status: 'failed' | 'pending'; delayMs: number | null; log: string } {
  if (attempts >= policy.maxAttempts) return { status: 'failed', delayMs: null, log: `gave up after ${attempts} reservation attempts` };
  const delayMs = policy.retryDelayMs(attempts);
  return { status: 'pending', delayMs, log: `reservation attempt ${attempts} of ${policy.maxAttempts} failed; retrying in ${delayMs} ms` };
}

/** Each product's units, held where they were allocated: `act` gives them back, sells them, ships them. */
function atTheirLocations(order: Working, desk: StockDesk, act: (productId: string, units: { locationId: string; quantity: number }[]) => void) {
  for (const [productId, units] of unitsByProduct(order, desk.defaultLocationId)) act(productId, units);
}

export function reserve(order: Working, desk: StockDesk, step: { version: number }, policy: OrderPolicy): Decision {
  if (!fenced(order, 'pending', step.version)) return STALE;
  const allowed = allowedLocations(order.locationIds);
  const allocations = allocateLines(desk, order.items, allowed);
  if (allocations) {
    for (const [productId, units] of unitsByProduct({ items: order.items, allocations }, desk.defaultLocationId)) desk.reserve(productId, units);
    return { ...unchanged(order), status: 'reserved', lastError: null, leased: true, stamp: 'reserved', allocations };
  }
  const error = shortage(desk, order.items, allowed) ?? `insufficient stock for ${describe(order.items)}`;
  const attempts = order.attempts + 1;
  const missed = missedReservation(policy, attempts);
  return { ...unchanged(order), status: missed.status, attempts, lastError: error, retryInMs: missed.delayMs, log: { message: missed.log, error } };
}

export function sell(order: Working, desk: StockDesk, step: { version: number; charge: string; attempts: number }): Decision {
  if (!fenced(order, 'reserved', step.version)) return STALE;
  atTheirLocations(order, desk, (productId, units) => desk.sell(productId, units, order.id));
  const payment: Payment = { status: 'succeeded', reference: step.charge, attempts: step.attempts };
  return { ...unchanged(order), status: 'processed', lastError: null, payment, stamp: 'processed' };
}

export function fail(order: Working, desk: StockDesk, step: Extract<Step, { kind: 'fail' }>, policy: OrderPolicy): Decision {
  if (!fenced(order, 'reserved', step.version)) return STALE;
  atTheirLocations(order, desk, (productId, units) => desk.release(productId, units));
  return {
    ...unchanged(order),
    status: 'failed',
    lastError: step.error,
    payment: { status: step.payment.status, reference: order.paymentReference, attempts: step.payment.attempts },
    // The last call's outcome is unknown: a charge may still land, to be refunded.
    reconcileInMs: step.reconcile ? policy.reconcileDelayMs : null,
    log: { message: step.message ?? 'payment failed; reservation released', error: step.error },
  };
}

export function retryPayment(order: Working, step: Extract<Step, { kind: 'retry-payment' }>): Decision {
  if (!fenced(order, 'reserved', step.version)) return STALE;
  return {
    ...unchanged(order),
    status: 'reserved',
    lastError: step.error,
    payment: { status: 'pending', reference: order.paymentReference, attempts: step.attempts },
    retryInMs: step.delayMs,
    log: { message: `payment attempt ${step.attempts} of ${step.maxAttempts} failed; retrying in ${step.delayMs} ms`, error: step.error },
  };
}

/**
 * pending: nothing held; reserved: released (a charge on its way is looked for); processed:
 * restocked and refunded, unless some of it has shipped (then what comes back is a return).
 */
export function cancel(order: Working, desk: StockDesk, policy: OrderPolicy, docs: Documents): Decision {
  const base = { ...unchanged(order), status: 'cancelled' as const };
  switch (order.status) {
    case 'cancelled':
      return UNCHANGED;
    case 'failed':
    case 'shipped':
      throw conflict(`a ${order.status} order cannot be cancelled`, { orderStatus: order.status });
    case 'pending':
      return { ...base, log: { message: 'cancelled by request', error: null } };
    case 'reserved':
      atTheirLocations(order, desk, (productId, units) => desk.release(productId, units));
      return { ...base, reconcileInMs: policy.reconcileDelayMs, log: { message: 'cancelled by request; reservation released', error: null } };
    case 'processed':
      assertNothingShipped(docs);
      atTheirLocations(order, desk, (productId, units) => desk.restock(productId, units, order.id));
      return {
        ...base,
        payment: { status: 'refund_pending', reference: order.paymentReference, attempts: order.paymentAttempts },
        reconcileInMs: 0,
        log: { message: `cancelled by request; restocked ${describe(order.items)}; refund pending`, error: null },
      };
  }
}
