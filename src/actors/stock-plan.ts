import { iso } from '../db/client.ts';
import { conflict, notFound } from '../lib/errors.ts';
import type { LevelRow, NewMovement } from './stock.queries.ts';

/** A product's stock as the API shows it. */
export type InventoryLevel = {
  productId: string;
  onHand: number;
  reserved: number;
  available: number;
  awaitingShipment: number;
  updatedAt: string;
};

/** A product's stock as the API shows it, from its row (`updatedAt`: the row's, unless it is being written now). */
export function inventoryOf(row: Omit<LevelRow, 'lowStockThreshold'>, updatedAt = iso(row.updatedAt)): InventoryLevel {
  return { productId: row.productId, onHand: row.onHand, reserved: row.reserved, available: row.onHand - row.reserved, awaitingShipment: row.awaitingShipment, updatedAt };
}

/** What changed at one product in a batch, for the outbox (see src/modules/events/records.ts). */
export type InventoryChange = {
  productId: string;
  onHand: number;
  reserved: number;
  awaitingShipment: number;
  previousAvailable: number;
  lowStockThreshold: number | null;
};

/** Stock counts are PostgreSQL `integer`s. */
const MAX_STOCK = 2_147_483_647;

type WorkingLevel = LevelRow & { start: { onHand: number; reserved: number; awaitingShipment: number }; ordersPlaced: number; touched: boolean };

/**
 * What a unit of stock work may do, on the batch's copy of the levels. Every rule that protects
 * stock is checked here and again by the database's CHECK constraints. A refused change throws
 * `AppError` (409, 404): that work fails alone and whatever it had changed is rolled back.
 */
export interface StockDesk {
  /** The transaction's time (ISO): what `now()` is in all of its statements. */
  readonly at: string;
  /** Whether the batch read a stock level for the product (an erased product has none). */
  has(productId: string): boolean;
  available(productId: string): number;
  /** Takes `quantity` of the available stock for an order; the caller checked it is there. */
  hold(productId: string, quantity: number): void;
  release(productId: string, quantity: number): void;
  /** Held stock leaves `on_hand` (it still awaits shipment); a `sale` movement naming the order. */
  sell(productId: string, quantity: number, orderId: string): void;
  /** Sold stock comes back (a processed order cancelled): a `restock` movement naming the order. */
  restock(productId: string, quantity: number, orderId: string): void;
  /** Sold stock left the warehouse. */
  shipOut(productId: string, quantity: number): void;
  /** Changes `on_hand` by `delta` with a movement; refused below what is reserved or past the integer range. */
  move(productId: string, delta: number, reason: string, refs?: { syncRunId?: string }): void;
  /** An order named this product (so it is archived, never erased, when deleted). */
  notePlaced(productId: string): void;
  snapshot(productId: string): InventoryLevel;
}

/**
 * The in-memory copy a stock batch works on: levels read under the products' locks, changed by the
 * batch's work in arrival order, written back once. Each work's changes can be undone (`mark` /
 * `rollback`), so a work that is refused halfway leaves nothing behind.
 */
export class StockPlan implements StockDesk {
  readonly movements: NewMovement[] = [];
  private readonly levels = new Map<string, WorkingLevel>();
  private readonly undo: (() => void)[] = [];
  /** Per product, the index of its last movement if that is a sale this batch can extend. */
  private readonly openSale = new Map<string, number>();

  readonly at: string;

  constructor(rows: LevelRow[], at: string) {
    this.at = iso(at);
    for (const row of rows) {
      this.levels.set(row.productId, {
        ...row,
        start: { onHand: row.onHand, reserved: row.reserved, awaitingShipment: row.awaitingShipment },
        ordersPlaced: 0,
        touched: false,
      });
    }
  }

  has(productId: string): boolean {
    return this.levels.has(productId);
  }

  available(productId: string): number {
    const level = this.level(productId);
    return level.onHand - level.reserved;
  }

  mark(): number {
    return this.undo.length;
  }

  rollback(mark: number) {
    while (this.undo.length > mark) this.undo.pop()!();
  }

  hold(productId: string, quantity: number) {
    this.reserve(productId, quantity);
  }

  release(productId: string, quantity: number) {
    this.reserve(productId, -quantity);
  }

  sell(productId: string, quantity: number, orderId: string) {
    this.reserve(productId, -quantity);
    this.change(productId, 'onHand', -quantity);
    this.change(productId, 'awaitingShipment', quantity);
    this.record(productId, -quantity, 'sale', { orderId });
  }

  restock(productId: string, quantity: number, orderId: string) {
    this.change(productId, 'awaitingShipment', -quantity);
    this.change(productId, 'onHand', quantity);
    this.record(productId, quantity, 'restock', { orderId });
  }

  shipOut(productId: string, quantity: number) {
    this.change(productId, 'awaitingShipment', -quantity);
  }

  move(productId: string, delta: number, reason: string, refs: { syncRunId?: string } = {}) {
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
    this.change(productId, 'onHand', delta);
    this.record(productId, delta, reason, { syncRunId: refs.syncRunId });
  }

  notePlaced(productId: string) {
    const level = this.level(productId);
    level.ordersPlaced++;
    level.touched = true;
    this.undo.push(() => level.ordersPlaced--);
  }

  snapshot(productId: string): InventoryLevel {
    const level = this.level(productId);
    // A level this batch changed is written with the transaction's time.
    return inventoryOf(level, level.touched ? this.at : undefined);
  }

  /** The net change of every level the batch touched, for one UPDATE. */
  levelDeltas() {
    return [...this.levels.values()]
      .filter((l) => l.touched)
      .map((l) => ({
        productId: l.productId,
        onHand: l.onHand - l.start.onHand,
        reserved: l.reserved - l.start.reserved,
        awaitingShipment: l.awaitingShipment - l.start.awaitingShipment,
        ordersPlaced: l.ordersPlaced,
      }))
      .filter((d) => d.onHand !== 0 || d.reserved !== 0 || d.awaitingShipment !== 0 || d.ordersPlaced !== 0);
  }

  /** The levels whose counts changed, as of the end of the batch. */
  inventoryChanges(): InventoryChange[] {
    return [...this.levels.values()]
      .filter((l) => l.onHand !== l.start.onHand || l.reserved !== l.start.reserved || l.awaitingShipment !== l.start.awaitingShipment)
      .map((l) => ({
        productId: l.productId,
        onHand: l.onHand,
        reserved: l.reserved,
        awaitingShipment: l.awaitingShipment,
        previousAvailable: l.start.onHand - l.start.reserved,
        lowStockThreshold: l.lowStockThreshold,
      }));
  }

  private level(productId: string): WorkingLevel {
    const level = this.levels.get(productId);
    if (!level) throw notFound(`product ${productId}`);
    return level;
  }

  private reserve(productId: string, quantity: number) {
    const level = this.level(productId);
    if (level.reserved + quantity > level.onHand || level.reserved + quantity < 0) {
      throw new Error(`invariant: reserving ${quantity} of ${productId} with ${level.reserved}/${level.onHand}`);
    }
    this.change(productId, 'reserved', quantity);
  }

  private change(productId: string, field: 'onHand' | 'reserved' | 'awaitingShipment', delta: number) {
    const level = this.level(productId);
    if (level[field] + delta < 0) throw new Error(`invariant: ${field} of ${productId} would be ${level[field] + delta}`);
    const touched = level.touched;
    level[field] += delta;
    level.touched = true;
    this.undo.push(() => {
      level[field] -= delta;
      level.touched = touched;
    });
  }

  /**
   * A ledger row. A sale right after a sale of the same product extends it (one row names every
   * order of a run of sales), so a hot product's batch writes one row, not one per order; the
   * running `on_hand_after` stays exact because nothing else moved in between.
   */
  private record(productId: string, delta: number, reason: string, refs: { orderId?: string; syncRunId?: string }) {
    const onHandAfter = this.level(productId).onHand;
    const open = this.openSale.get(productId);
    if (reason === 'sale' && open !== undefined) {
      const movement = this.movements[open]!;
      const before = { delta: movement.delta, onHandAfter: movement.onHandAfter };
      movement.delta += delta;
      movement.onHandAfter = onHandAfter;
      movement.orderIds!.push(refs.orderId!);
      this.undo.push(() => {
        movement.delta = before.delta;
        movement.onHandAfter = before.onHandAfter;
        movement.orderIds!.pop();
      });
      return;
    }
    const previousOpen = open;
    this.movements.push({
      productId,
      delta,
      reason,
      orderIds: refs.orderId ? [refs.orderId] : null,
      syncRunId: refs.syncRunId ?? null,
      onHandAfter,
    });
    if (reason === 'sale') this.openSale.set(productId, this.movements.length - 1);
    else this.openSale.delete(productId);
    this.undo.push(() => {
      this.movements.pop();
      if (previousOpen === undefined) this.openSale.delete(productId);
      else this.openSale.set(productId, previousOpen);
    });
  }
}
