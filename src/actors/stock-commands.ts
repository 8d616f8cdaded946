import { conflict, notFound } from '../http/errors.ts';
import type { OrderItem, OrderStatus, PaymentStatus } from '../modules/orders/order-state.ts';
import type { InventoryLevel, StockPlan, WorkingOrder } from './stock-plan.ts';

/** What the stock engine needs to know about order work (set once per process). */
export type OrderPolicy = {
  /** This process's incarnation: the lease owner of the orders it works on. */
  owner: string;
  leaseMs: number;
  maxAttempts: number;
  /** Delay before reservation attempt `attempt + 1`, after `attempt` found too little stock. */
  retryDelayMs(attempt: number): number;
  /** When to ask the payment provider about an order whose charge may still land. */
  reconcileDelayMs: number;
};

export type InventoryCommand =
  | { kind: 'adjust'; productId: string; delta: number; reason: string }
  | { kind: 'set'; productId: string; onHand: number; expectedOnHand?: number; reason: string }
  /** Warehouse count: the difference becomes a movement; never below what open orders hold. */
  | { kind: 'sync'; productId: string; counted: number; syncRunId: string };

export type OrderCommand =
  | { kind: 'reserve'; orderId: string; version: number; items: OrderItem[] }
  | { kind: 'sell'; orderId: string; version: number; items: OrderItem[]; payment: { reference: string; attempts: number } }
  | {
      kind: 'fail';
      orderId: string;
      version: number;
      items: OrderItem[];
      error: string;
      payment: { status: PaymentStatus; attempts: number };
      /** The charge may still land (unknown outcome): ask the provider again later and refund it. */
      reconcile: boolean;
      /** The log line; by default, that the payment failed. */
      message?: string;
    }
  | { kind: 'cancel'; orderId: string; items: OrderItem[] }
  /** processed → shipped: the sold stock leaves the warehouse. */
  | { kind: 'ship'; orderId: string; items: OrderItem[] };

export type StockCommand = InventoryCommand | OrderCommand;

export type SyncOutcome = InventoryLevel & { delta: number; shortfall: number };

export type OrderOutcome =
  | { outcome: 'reserved' | 'processed' | 'failed' | 'cancelled' | 'shipped'; orderId: string; version: number; status: OrderStatus }
  | { outcome: 'retry'; orderId: string; version: number; status: OrderStatus; attempts: number; nextAttemptInMs: number }
  /** Someone else changed the order since this worker last saw it: this worker must let it go. */
  | { outcome: 'stale'; orderId: string }
  | { outcome: 'unchanged'; orderId: string; status: OrderStatus };

export type ResultOf<C extends StockCommand> = C extends { kind: 'sync' } ? SyncOutcome : C extends InventoryCommand ? InventoryLevel : OrderOutcome;
export type StockResult = InventoryLevel | SyncOutcome | OrderOutcome;

const describeItems = (items: OrderItem[]) => items.map((i) => `${i.quantity} × ${i.productId}`).join(', ');

function current(plan: StockPlan, command: { orderId: string; version: number }, status: OrderStatus): WorkingOrder | undefined {
  const order = plan.order(command.orderId);
  return order && order.version === command.version && order.status === status ? order : undefined;
}

const done = (order: WorkingOrder, outcome: 'reserved' | 'processed' | 'failed' | 'cancelled' | 'shipped'): OrderOutcome => ({
  outcome,
  orderId: order.id,
  version: order.version + 1,
  status: order.status,
});

function reserve(plan: StockPlan, command: Extract<OrderCommand, { kind: 'reserve' }>, policy: OrderPolicy): OrderOutcome {
  const order = current(plan, command, 'pending');
  if (!order) return { outcome: 'stale', orderId: command.orderId };
  const short = command.items.find((item) => plan.available(item.productId) < item.quantity);
  if (!short) {
    for (const item of command.items) plan.reserve(item.productId, item.quantity);
    order.lastError = null;
    order.nextDelayMs = 0;
    order.leaseOwner = policy.owner;
    order.leaseMs = policy.leaseMs;
    plan.transition(order, 'reserved', `stock reserved: ${describeItems(command.items)}`);
    return done(order, 'reserved');
  }
  order.attempts += 1;
  const error = `insufficient stock for product ${short.productId}: ${short.quantity} wanted, ${Math.max(0, plan.available(short.productId))} available`;
  order.lastError = error;
  order.leaseOwner = null;
  if (order.attempts >= policy.maxAttempts) {
    plan.transition(order, 'failed', `gave up after ${order.attempts} reservation attempts`, error);
    return done(order, 'failed');
  }
  order.nextDelayMs = policy.retryDelayMs(order.attempts);
  plan.note(order, `reservation attempt ${order.attempts} of ${policy.maxAttempts} failed; retrying in ${order.nextDelayMs} ms`, error);
  return { outcome: 'retry', orderId: order.id, version: order.version + 1, status: order.status, attempts: order.attempts, nextAttemptInMs: order.nextDelayMs };
}

function sell(plan: StockPlan, command: Extract<OrderCommand, { kind: 'sell' }>): OrderOutcome {
  const order = current(plan, command, 'reserved');
  if (!order) return { outcome: 'stale', orderId: command.orderId };
  for (const item of command.items) {
    plan.reserve(item.productId, -item.quantity);
    plan.move(item.productId, -item.quantity, 'sale', { orderId: order.id });
    plan.awaitShipment(item.productId, item.quantity);
  }
  order.paymentStatus = 'succeeded';
  order.paymentReference = command.payment.reference;
  order.paymentAttempts = command.payment.attempts;
  order.lastError = null;
  order.leaseOwner = null;
  plan.transition(order, 'processed', `paid (charge ${command.payment.reference}); stock deducted`);
  return done(order, 'processed');
}

function fail(plan: StockPlan, command: Extract<OrderCommand, { kind: 'fail' }>, policy: OrderPolicy): OrderOutcome {
  const order = current(plan, command, 'reserved');
  if (!order) return { outcome: 'stale', orderId: command.orderId };
  for (const item of command.items) plan.reserve(item.productId, -item.quantity);
  order.paymentStatus = command.payment.status;
  order.paymentAttempts = command.payment.attempts;
  order.lastError = command.error;
  order.leaseOwner = null;
  order.reconcileDelayMs = command.reconcile ? policy.reconcileDelayMs : null;
  plan.transition(order, 'failed', command.message ?? 'payment failed; reservation released', command.error);
  return done(order, 'failed');
}

/** A cancel is the customer's decision: it wins over any worker (no version check) and fences them out. */
function cancel(plan: StockPlan, command: Extract<OrderCommand, { kind: 'cancel' }>, policy: OrderPolicy): OrderOutcome {
  const order = plan.order(command.orderId);
  if (!order) throw notFound(`order ${command.orderId}`);
  switch (order.status) {
    case 'cancelled':
      return { outcome: 'unchanged', orderId: order.id, status: order.status };
    case 'failed':
    case 'shipped':
      throw conflict(`a ${order.status} order cannot be cancelled`, { orderStatus: order.status });
    case 'pending':
      order.leaseOwner = null;
      plan.transition(order, 'cancelled', 'cancelled by request');
      return done(order, 'cancelled');
    case 'reserved':
      for (const item of command.items) plan.reserve(item.productId, -item.quantity);
      order.leaseOwner = null;
      // A charge may be on its way right now: look again once it must have landed, and refund it.
      order.reconcileDelayMs = policy.reconcileDelayMs;
      plan.transition(order, 'cancelled', 'cancelled by request; reservation released');
      return done(order, 'cancelled');
    case 'processed':
      for (const item of command.items) {
        plan.awaitShipment(item.productId, -item.quantity);
        plan.move(item.productId, item.quantity, 'restock', { orderId: order.id });
      }
      order.leaseOwner = null;
      order.paymentStatus = 'refund_pending';
      order.reconcileDelayMs = 0;
      plan.transition(order, 'cancelled', 'cancelled by request; stock restocked; refund pending');
      return done(order, 'cancelled');
  }
}

/** A user's decision like cancel: not version-fenced, and it fences out any worker. */
function ship(plan: StockPlan, command: Extract<OrderCommand, { kind: 'ship' }>): OrderOutcome {
  const order = plan.order(command.orderId);
  if (!order) throw notFound(`order ${command.orderId}`);
  if (order.status !== 'processed') throw conflict(`only processed orders can be shipped; this one is ${order.status}`, { orderStatus: order.status });
  for (const item of command.items) plan.awaitShipment(item.productId, -item.quantity);
  plan.transition(order, 'shipped', 'shipped');
  return done(order, 'shipped');
}

/**
 * The warehouse counts what is physically there, which includes stock sold but not shipped yet:
 * the shop can sell `counted - awaitingShipment`. When that is below what open orders hold, keep
 * what they hold and report the shortfall.
 */
function syncCount(plan: StockPlan, command: Extract<InventoryCommand, { kind: 'sync' }>): SyncOutcome {
  const level = plan.level(command.productId);
  const sellable = command.counted - level.awaitingShipment;
  const target = Math.max(sellable, level.reserved);
  const delta = target - level.onHand;
  plan.move(command.productId, delta, 'warehouse-sync', { syncRunId: command.syncRunId });
  return { ...plan.snapshot(command.productId), delta, shortfall: target - sellable };
}

export function applyCommand(plan: StockPlan, command: StockCommand, policy: OrderPolicy): StockResult {
  switch (command.kind) {
    case 'adjust':
      plan.move(command.productId, command.delta, command.reason);
      return plan.snapshot(command.productId);
    case 'set': {
      const level = plan.level(command.productId);
      if (command.expectedOnHand !== undefined && command.expectedOnHand !== level.onHand) {
        throw conflict(`on hand is ${level.onHand}, not the expected ${command.expectedOnHand}`, { onHand: level.onHand });
      }
      plan.move(command.productId, command.onHand - level.onHand, command.reason);
      return plan.snapshot(command.productId);
    }
    case 'sync':
      return syncCount(plan, command);
    case 'reserve':
      return reserve(plan, command, policy);
    case 'sell':
      return sell(plan, command);
    case 'fail':
      return fail(plan, command, policy);
    case 'cancel':
      return cancel(plan, command, policy);
    case 'ship':
      return ship(plan, command);
  }
}

export const orderIdOf = (command: StockCommand): string | undefined => ('orderId' in command ? command.orderId : undefined);
