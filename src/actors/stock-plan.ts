import { iso } from '../db/client.ts';
import { conflict, notFound } from '../http/errors.ts';
import type { OrderStatus } from '../modules/orders/order-state.ts';
import type { LevelRow, NewMovement, OrderRow } from './stock.queries.ts';

export type InventoryLevel = {
  productId: string;
  onHand: number;
  reserved: number;
  available: number;
  awaitingShipment: number;
  updatedAt: string;
};

/** Stock counts are PostgreSQL `integer`s. */
const MAX_STOCK = 2_147_483_647;

type WorkingLevel = LevelRow & { start: { onHand: number; reserved: number; awaitingShipment: number }; touched: boolean };

/** An order as the batch sees it: read once, changed in memory, written once (fenced on `version`). */
export type WorkingOrder = OrderRow & {
  /** Delay from now until the order is due again (0: now). */
  nextDelayMs: number;
  /** Delay until the payment provider must be asked again (refund owed, late charge); null: nothing owed. */
  reconcileDelayMs: number | null;
  leaseMs: number;
  dirty: boolean;
};

export type LogRow = { orderId: string; status: OrderStatus; message: string; errorMessage: string | null };

/**
 * The in-memory copy a stock batch works on. Commands change levels and orders here; the engine
 * writes the net result in one statement. Every rule that protects stock is checked here and again
 * by the database's CHECK constraints.
 */
export class StockPlan {
  readonly movements: NewMovement[] = [];
  readonly logs: LogRow[] = [];
  readonly orderEvents: unknown[] = [];
  private readonly levels = new Map<string, WorkingLevel>();
  private readonly orders = new Map<string, WorkingOrder>();

  constructor(levels: LevelRow[], orders: OrderRow[]) {
    for (const row of levels) {
      this.levels.set(row.productId, {
        ...row,
        updatedAt: iso(row.updatedAt),
        start: { onHand: row.onHand, reserved: row.reserved, awaitingShipment: row.awaitingShipment },
        touched: false,
      });
    }
    for (const row of orders) this.orders.set(row.id, { ...row, nextDelayMs: 0, reconcileDelayMs: null, leaseMs: 0, dirty: false });
  }

  level(productId: string): WorkingLevel {
    const level = this.levels.get(productId);
    if (!level) throw notFound(`product ${productId}`);
    return level;
  }

  order(orderId: string): WorkingOrder | undefined {
    return this.orders.get(orderId);
  }

  available(productId: string): number {
    const level = this.level(productId);
    return level.onHand - level.reserved;
  }

  /** Changes `on_hand` by `delta` and records the movement; refuses to go below what is reserved. */
  move(productId: string, delta: number, reason: string, refs: { orderId?: string; syncRunId?: string } = {}) {
    const level = this.level(productId);
    if (delta === 0) return;
    if (level.onHand + delta < level.reserved) {
      throw conflict(`on hand would be ${level.onHand + delta}, below the ${level.reserved} reserved by open orders`, {
        onHand: level.onHand,
        reserved: level.reserved,
      });
    }
    if (level.onHand + delta > MAX_STOCK) {
      throw conflict(`on hand would be ${level.onHand + delta}, beyond the ${MAX_STOCK} a stock count can hold`, { onHand: level.onHand });
    }
    level.onHand += delta;
    level.touched = true;
    this.movements.push({ productId, delta, reason, orderId: refs.orderId ?? null, syncRunId: refs.syncRunId ?? null, onHandAfter: level.onHand });
  }

  /** Holds (positive) or lets go of (negative) stock for an order; never more than is available. */
  reserve(productId: string, quantity: number) {
    const level = this.level(productId);
    if (level.reserved + quantity > level.onHand || level.reserved + quantity < 0) {
      throw new Error(`invariant: reserving ${quantity} of ${productId} with ${level.reserved}/${level.onHand}`);
    }
    level.reserved += quantity;
    level.touched = true;
  }

  /** Sold stock waiting to leave the warehouse: grows at a sale, shrinks when it ships or comes back. */
  awaitShipment(productId: string, quantity: number) {
    const level = this.level(productId);
    if (level.awaitingShipment + quantity < 0) throw new Error(`invariant: ${productId} would await ${level.awaitingShipment + quantity} for shipment`);
    level.awaitingShipment += quantity;
    level.touched = true;
  }

  /** Moves an order to a new status, with its log row and its event. */
  transition(order: WorkingOrder, status: OrderStatus, message: string, errorMessage: string | null = null) {
    const previous = order.status;
    order.status = status;
    order.dirty = true;
    this.logs.push({ orderId: order.id, status, message, errorMessage });
    this.orderEvents.push({ type: 'order.status', orderId: order.id, status, previous, attempts: order.attempts, error: errorMessage });
  }

  /** A failed attempt that does not change the status still gets its log row. */
  note(order: WorkingOrder, message: string, errorMessage: string | null) {
    order.dirty = true;
    this.logs.push({ orderId: order.id, status: order.status, message, errorMessage });
    this.orderEvents.push({ type: 'order.status', orderId: order.id, status: order.status, previous: order.status, attempts: order.attempts, error: errorMessage });
  }

  snapshot(productId: string): InventoryLevel {
    const { onHand, reserved, awaitingShipment, updatedAt } = this.level(productId);
    return { productId, onHand, reserved, available: onHand - reserved, awaitingShipment, updatedAt };
  }

  levelDeltas() {
    return [...this.levels.values()]
      .filter((l) => l.touched && (l.onHand !== l.start.onHand || l.reserved !== l.start.reserved || l.awaitingShipment !== l.start.awaitingShipment))
      .map((l) => ({
        productId: l.productId,
        onHand: l.onHand - l.start.onHand,
        reserved: l.reserved - l.start.reserved,
        awaitingShipment: l.awaitingShipment - l.start.awaitingShipment,
      }));
  }

  dirtyOrders(): WorkingOrder[] {
    return [...this.orders.values()].filter((o) => o.dirty);
  }

  changes(): unknown[] {
    const inventory = [...this.levels.values()]
      .filter((l) => l.touched)
      .map((l) => ({
        type: 'inventory.changed',
        productId: l.productId,
        onHand: l.onHand,
        reserved: l.reserved,
        available: l.onHand - l.reserved,
        awaitingShipment: l.awaitingShipment,
      }));
    return [...this.orderEvents, ...inventory];
  }
}
