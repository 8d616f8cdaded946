import { iso } from '../db/client.ts';
import { conflict, notFound } from '../lib/errors.ts';
import { strategies, type Allocation, type AllocationStrategy } from './allocation.ts';
import type { LevelDelta, LevelRow, LocationRow, NewMovement, PlaceDelta, PlaceRow } from './stock.queries.ts';

export type { Allocation };

/** Units one reservation keeps of one product at one location. */
export type KeptUnits = { productId: string; locationId: string; quantity: number };

/**
 * A reservation whose time is up while its units are still held (an expired hold): a batch that
 * holds the locks of all its products may give them back (`reclaimLapsed`), and does so when a
 * reservation finds too little stock.
 */
export type Lapse = { id: string; units: readonly KeptUnits[] };

/** The counts a location (and, summed, a product) keeps. */
export type Counts = { onHand: number; reserved: number; held: number; incoming: number; awaitingShipment: number };
const COUNTS: (keyof Counts)[] = ['onHand', 'reserved', 'held', 'incoming', 'awaitingShipment'];

/** A product's stock at one location as the API shows it. */
export type LocationLevel = Counts & { locationId: string; locationCode: string; available: number };

/** A product's stock as the API shows it: the sums over its locations, and each location. */
export type InventoryLevel = {
  productId: string;
  onHand: number;
  reserved: number;
  held: number;
  available: number;
  incoming: number;
  awaitingShipment: number;
  updatedAt: string;
  locations: LocationLevel[];
};

/** What changed at one product in a batch, for the outbox (see src/modules/events/records.ts). */
export type InventoryChange = Counts & {
  productId: string;
  previousAvailable: number;
  lowStockThreshold: number | null;
  /** Each location the product has counts at, as of the end of the batch. */
  locations: (Counts & { locationId: string; locationCode: string })[];
  /** The locations whose counts the batch changed. */
  changedLocationIds: string[];
};

/** What a movement names besides its product and location: the sync run, transfer or return it was for. */
export type MovementRefs = { syncRunId?: string; transferId?: string; returnId?: string };

/**
 * Thrown by a work that cannot be decided from memory (a batch with no reads: `StockDesk.recalled`):
 * it is not refused, it goes again to a batch that reads the rows under the locks.
 */
export class Deferred extends Error {
  constructor(why: string) {
    super(`decided under the locks instead: ${why}`);
  }
}

/** What a batch knows of its products before deciding: read under the locks, or remembered from the batches before it. */
export type StockRead = { rows: LevelRow[]; locations: LocationRow[]; places: PlaceRow[] };

/** Stock counts are PostgreSQL `integer`s. */
const MAX_STOCK = 2_147_483_647;

type Place = Counts & { location: LocationRow; start: Counts; hasRow: boolean; updatedAt: string | null };
type ProductStock = { row: LevelRow; places: Map<string, Place>; ordersPlaced: number; touched: boolean };

const sum = (places: Iterable<Counts>): Counts => {
  const total: Counts = { onHand: 0, reserved: 0, held: 0, incoming: 0, awaitingShipment: 0 };
  for (const place of places) for (const key of COUNTS) total[key] += place[key];
  return total;
};
const counts = (c: Counts): Counts => ({ onHand: c.onHand, reserved: c.reserved, held: c.held, incoming: c.incoming, awaitingShipment: c.awaitingShipment });
const changed = (a: Counts, b: Counts) => COUNTS.some((key) => a[key] !== b[key]);

/**
 * What a unit of stock work may do, on the batch's copy of the levels. Every rule that protects
 * stock is checked here and again by the database's CHECK constraints (per location). A refused
 * change throws `AppError` (409, 404): that work fails alone and whatever it had changed is rolled
 * back. Stock held for orders (and holds) is held at locations (`Allocation`s), chosen by
 * `allocate` and given back, sold or shipped where it was held.
 */
export interface StockDesk {
  /**
   * The transaction's time (ISO): what `now()` is in all of its statements. In a batch decided
   * from memory (`recalled`) it is this process's clock; the transaction's own is known at the commit.
   */
  readonly at: string;
  /**
   * Decided from what this process remembers of the rows, not from rows read under the locks: what
   * the batch writes is fenced (a row changed since fails the batch, which is decided again), but an
   * answer that writes nothing would not be. A work that would answer that way throws `Deferred`.
   */
  readonly recalled: boolean;
  /** The location that takes every change that names none. */
  readonly defaultLocationId: string;
  /** Whether the batch read a stock level for the product (an erased product has none). */
  has(productId: string): boolean;
  /** Its catalog price (numeric as text); null when it cannot be ordered (archived) or is unknown. */
  price(productId: string): string | null;
  /** Whether the location exists (not deleted), and whether units may be allocated from it. */
  location(locationId: string): { active: boolean } | undefined;
  /** Units that may be allocated now, over the active locations (of `allowed`, when given). */
  available(productId: string, allowed?: ReadonlySet<string>): number;
  /**
   * Where `quantity` would come from (ALLOCATION_STRATEGY), or null when there is too little. When
   * there is too little it first gives back the product's lapsed reservations (`reclaimLapsed`)
   * and looks again; otherwise it changes nothing.
   */
  allocate(productId: string, quantity: number, allowed?: ReadonlySet<string>): Allocation[] | null;
  /** Takes the allocated units out of what may be allocated (for an order; `held` too for a hold). */
  reserve(productId: string, allocations: readonly Allocation[], options?: { held?: boolean }): void;
  /** Gives reserved units back where they were reserved. */
  release(productId: string, allocations: readonly Allocation[], options?: { held?: boolean }): void;
  /** Held units become plain reserved ones where they are (a hold's stock taken over by an order). */
  convertHeld(productId: string, allocations: readonly Allocation[]): void;
  /** Gives back the units of every lapsed reservation of this product that the batch may take back; answers how many reservations. */
  reclaimLapsed(productId: string): number;
  /** Reserved units leave `on_hand` (they still await shipment there); a `sale` movement per location. */
  sell(productId: string, allocations: readonly Allocation[], orderId: string): void;
  /** Sold units come back where they were sold (a processed order cancelled): a `restock` movement. */
  restock(productId: string, allocations: readonly Allocation[], orderId: string): void;
  /** Sold units left where they were awaiting shipment. */
  shipOut(productId: string, allocations: readonly Allocation[]): void;
  /** Changes `on_hand` at a location by `delta` with a movement; refused below what is reserved there or past the integer range. */
  move(productId: string, locationId: string, delta: number, reason: string, refs?: MovementRefs): void;
  /** Changes what is on its way to a location (a transfer); never below 0. */
  changeIncoming(productId: string, locationId: string, delta: number): void;
  /** The product's counts at one location (zeros where it has none). */
  countsAt(productId: string, locationId: string): Counts;
  /** An order named this product (so it is archived, never erased, when deleted). */
  notePlaced(productId: string): void;
  snapshot(productId: string): InventoryLevel;
}

/**
 * The in-memory copy a stock batch works on: the products' levels at every location, read under
 * their locks, changed by the batch's work in arrival order, written back once. Each work's
 * changes can be undone (`mark` / `rollback`), so a work that is refused halfway leaves nothing.
 */
export class StockPlan implements StockDesk {
  readonly movements: NewMovement[] = [];
  readonly at: string;
  readonly recalled: boolean;
  readonly defaultLocationId: string;
  private readonly products = new Map<string, ProductStock>();
  private readonly locations: Map<string, LocationRow>;
  private readonly undo: (() => void)[] = [];
  /** Per product and location, the index of its last movement if that is a sale this batch can extend. */
  private readonly openSale = new Map<string, number>();
  /** Per product, the lapsed reservations the batch may take back: those whose products it has all locked. */
  private readonly lapsesOf = new Map<string, Lapse[]>();
  private readonly takenLapses: Lapse[] = [];
  private readonly strategy: (quantity: number, candidates: { locationId: string; code: string; priority: number; available: number }[]) => Allocation[] | null;

  constructor(
    { rows, ...read }: StockRead,
    at: string,
    strategy: AllocationStrategy,
    { lapses = [], recalled = false }: { lapses?: readonly Lapse[]; recalled?: boolean } = {},
  ) {
    this.at = iso(at);
    this.recalled = recalled;
    this.strategy = strategies[strategy];
    this.locations = new Map(read.locations.map((l) => [l.locationId, l]));
    const fallback = read.locations.find((l) => l.isDefault);
    if (!fallback) throw new Error('invariant: no default location');
    this.defaultLocationId = fallback.locationId;
    const placesOf = new Map<string, PlaceRow[]>();
    for (const place of read.places) placesOf.set(place.productId, [...(placesOf.get(place.productId) ?? []), place]);
    for (const row of rows) {
      const places = new Map<string, Place>();
      for (const location of read.locations) {
        const stored = placesOf.get(row.productId)?.find((p) => p.locationId === location.locationId);
        const level = stored ? counts(stored) : sum([]);
        places.set(location.locationId, { ...level, location, start: { ...level }, hasRow: stored !== undefined, updatedAt: stored?.updatedAt ?? null });
      }
      this.products.set(row.productId, { row, places, ordersPlaced: 0, touched: false });
    }
    for (const lapse of lapses) {
      const products = new Set(lapse.units.map((u) => u.productId));
      if (![...products].every((id) => this.products.has(id))) continue; // another batch, holding all of its locks, gives it back
      for (const id of products) this.lapsesOf.set(id, [...(this.lapsesOf.get(id) ?? []), lapse]);
    }
  }

  has(productId: string): boolean {
    return this.products.has(productId);
  }

  price(productId: string): string | null {
    return this.products.get(productId)?.row.price ?? null;
  }

  location(locationId: string) {
    const location = this.locations.get(locationId);
    return location ? { active: location.active } : undefined;
  }

  available(productId: string, allowed?: ReadonlySet<string>): number {
    let total = 0;
    for (const place of this.usable(productId, allowed)) total += Math.max(0, place.onHand - place.reserved);
    return total;
  }

  allocate(productId: string, quantity: number, allowed?: ReadonlySet<string>): Allocation[] | null {
    const found = this.strategy(quantity, this.candidates(productId, allowed));
    // Lapsed holds are known only to a batch that read them: one decided from memory cannot take them back.
    if (!found && this.recalled && this.heldOf(productId) > 0) throw new Deferred(`too little of ${productId} while some of it is held`);
    if (found || this.reclaimLapsed(productId) === 0) return found;
    return this.strategy(quantity, this.candidates(productId, allowed));
  }

  reclaimLapsed(productId: string): number {
    let reclaimed = 0;
    for (const lapse of this.lapsesOf.get(productId) ?? []) {
      if (this.takenLapses.includes(lapse)) continue;
      for (const { productId: id, locationId, quantity } of lapse.units) this.release(id, [{ locationId, quantity }], { held: true });
      this.takenLapses.push(lapse);
      this.undo.push(() => this.takenLapses.pop());
      reclaimed++;
    }
    return reclaimed;
  }

  /** The lapsed reservations this batch gave back, for their owner to record. */
  taken(): readonly Lapse[] {
    return this.takenLapses;
  }

  /** Units of the product held (by holds) over all its locations, as of now in the batch. */
  heldOf(productId: string): number {
    return sum(this.stock(productId).places.values()).held;
  }

  mark(): number {
    return this.undo.length;
  }

  rollback(mark: number) {
    while (this.undo.length > mark) this.undo.pop()!();
  }

  reserve(productId: string, allocations: readonly Allocation[], { held = false } = {}) {
    for (const { locationId, quantity } of allocations) {
      const place = this.place(productId, locationId);
      if (place.reserved + quantity > place.onHand) throw new Error(`invariant: reserving ${quantity} of ${productId} at ${locationId} with ${place.reserved}/${place.onHand}`);
      this.change(productId, locationId, 'reserved', quantity);
      if (held) this.change(productId, locationId, 'held', quantity);
    }
  }

  release(productId: string, allocations: readonly Allocation[], { held = false } = {}) {
    for (const { locationId, quantity } of allocations) {
      if (held) this.change(productId, locationId, 'held', -quantity);
      this.change(productId, locationId, 'reserved', -quantity);
    }
  }

  convertHeld(productId: string, allocations: readonly Allocation[]) {
    for (const { locationId, quantity } of allocations) this.change(productId, locationId, 'held', -quantity);
  }

  sell(productId: string, allocations: readonly Allocation[], orderId: string) {
    for (const { locationId, quantity } of allocations) {
      this.change(productId, locationId, 'reserved', -quantity);
      this.change(productId, locationId, 'onHand', -quantity);
      this.change(productId, locationId, 'awaitingShipment', quantity);
      this.record(productId, locationId, -quantity, 'sale', { orderId });
    }
  }

  restock(productId: string, allocations: readonly Allocation[], orderId: string) {
    for (const { locationId, quantity } of allocations) {
      this.change(productId, locationId, 'awaitingShipment', -quantity);
      this.change(productId, locationId, 'onHand', quantity);
      this.record(productId, locationId, quantity, 'restock', { orderId });
    }
  }

  shipOut(productId: string, allocations: readonly Allocation[]) {
    for (const { locationId, quantity } of allocations) this.change(productId, locationId, 'awaitingShipment', -quantity);
  }

  move(productId: string, locationId: string, delta: number, reason: string, refs: MovementRefs = {}) {
    const place = this.place(productId, locationId);
    if (delta === 0) return;
    const code = place.location.code;
    if (place.onHand + delta < place.reserved) {
      throw conflict(`on hand at ${code} would be ${place.onHand + delta}, below the ${place.reserved} reserved there`, {
        locationId,
        onHand: place.onHand,
        reserved: place.reserved,
      });
    }
    if (place.onHand + delta > MAX_STOCK) {
      throw conflict(`on hand at ${code} would be ${place.onHand + delta}, beyond the ${MAX_STOCK} a stock count can hold`, { locationId, onHand: place.onHand });
    }
    this.change(productId, locationId, 'onHand', delta);
    this.record(productId, locationId, delta, reason, refs);
  }

  changeIncoming(productId: string, locationId: string, delta: number) {
    this.change(productId, locationId, 'incoming', delta);
  }

  countsAt(productId: string, locationId: string): Counts {
    return counts(this.place(productId, locationId));
  }

  notePlaced(productId: string) {
    const stock = this.stock(productId);
    const touched = stock.touched;
    stock.ordersPlaced++;
    stock.touched = true;
    this.undo.push(() => {
      stock.ordersPlaced--;
      stock.touched = touched;
    });
  }

  snapshot(productId: string): InventoryLevel {
    const stock = this.stock(productId);
    const total = sum(stock.places.values());
    return {
      productId,
      ...total,
      available: total.onHand - total.reserved,
      // A level this batch changed is written with the transaction's time.
      updatedAt: stock.touched ? this.at : iso(stock.row.updatedAt),
      locations: [...stock.places.values()].filter((p) => p.hasRow || changed(p, p.start)).map(locationLevel),
    };
  }

  /**
   * The net changes of every product the batch touched, and of each of its locations, for one
   * statement; `fenceAll`: every product of the batch, changed or not (a batch decided from memory
   * answers from all of them, so all are fenced).
   */
  deltas({ fenceAll = false } = {}): { levels: LevelDelta[]; places: PlaceDelta[] } {
    const levels: LevelDelta[] = [];
    const places: PlaceDelta[] = [];
    for (const [productId, stock] of this.products) {
      if (!stock.touched && !fenceAll) continue;
      const delta = { productId, version: stock.row.version, onHand: 0, reserved: 0, held: 0, incoming: 0, awaitingShipment: 0, ordersPlaced: stock.ordersPlaced };
      for (const place of stock.places.values()) {
        if (!changed(place, place.start)) continue;
        const change = { productId, locationId: place.location.locationId, first: !place.hasRow, onHand: 0, reserved: 0, held: 0, incoming: 0, awaitingShipment: 0 };
        for (const key of COUNTS) {
          change[key] = place[key] - place.start[key];
          delta[key] += change[key];
        }
        places.push(change);
      }
      if (fenceAll || COUNTS.some((key) => delta[key] !== 0) || delta.ordersPlaced !== 0) levels.push(delta);
    }
    return { levels, places };
  }

  /**
   * The rows as they are once the batch commits with `levels` written: what the next batch of these
   * products may be decided on without reading them again.
   */
  next(levels: readonly LevelDelta[]): StockRead {
    const written = new Set(levels.map((l) => l.productId));
    const rows: LevelRow[] = [];
    const places: PlaceRow[] = [];
    for (const [productId, stock] of this.products) {
      const kept = [...stock.places.values()].filter((p) => p.hasRow || changed(p, p.start));
      for (const place of kept) {
        const updatedAt = changed(place, place.start) ? this.at : (place.updatedAt ?? this.at);
        places.push({ productId, locationId: place.location.locationId, ...counts(place), updatedAt });
      }
      rows.push({
        ...stock.row,
        ...sum(stock.places.values()),
        version: stock.row.version + (written.has(productId) ? 1 : 0),
        updatedAt: stock.touched ? this.at : stock.row.updatedAt,
      });
    }
    return { rows, locations: [...this.locations.values()], places };
  }

  /** The products whose counts changed, as of the end of the batch. */
  inventoryChanges(): InventoryChange[] {
    const changes: InventoryChange[] = [];
    for (const [productId, stock] of this.products) {
      const moved = [...stock.places.values()].filter((p) => changed(p, p.start));
      if (moved.length === 0) continue;
      const start = sum([...stock.places.values()].map((p) => p.start));
      changes.push({
        productId,
        ...sum(stock.places.values()),
        previousAvailable: start.onHand - start.reserved,
        lowStockThreshold: stock.row.lowStockThreshold,
        locations: [...stock.places.values()]
          .filter((p) => p.hasRow || changed(p, p.start))
          .map((p) => ({ locationId: p.location.locationId, locationCode: p.location.code, ...counts(p) })),
        changedLocationIds: moved.map((p) => p.location.locationId),
      });
    }
    return changes;
  }

  private candidates(productId: string, allowed?: ReadonlySet<string>) {
    return this.usable(productId, allowed).map((place) => ({
      locationId: place.location.locationId,
      code: place.location.code,
      priority: place.location.priority,
      available: place.onHand - place.reserved,
    }));
  }

  /** The active locations a product's units may be allocated from (of `allowed`, when given). */
  private usable(productId: string, allowed?: ReadonlySet<string>): Place[] {
    return [...this.stock(productId).places.values()].filter((p) => p.location.active && (!allowed || allowed.has(p.location.locationId)));
  }

  private stock(productId: string): ProductStock {
    const stock = this.products.get(productId);
    if (!stock) throw notFound(`product ${productId}`);
    return stock;
  }

  private place(productId: string, locationId: string): Place {
    const place = this.stock(productId).places.get(locationId);
    if (!place) throw notFound(`location ${locationId}`);
    return place;
  }

  private change(productId: string, locationId: string, field: keyof Counts, delta: number) {
    const stock = this.stock(productId);
    const place = this.place(productId, locationId);
    if (place[field] + delta < 0) throw new Error(`invariant: ${field} of ${productId} at ${locationId} would be ${place[field] + delta}`);
    const touched = stock.touched;
    place[field] += delta;
    stock.touched = true;
    this.undo.push(() => {
      place[field] -= delta;
      stock.touched = touched;
    });
  }

  /**
   * A ledger row. A sale right after a sale of the same product at the same location extends it
   * (one row names every order of a run of sales), so a hot product's batch writes one row per
   * location, not one per order; the running `on_hand_after` stays exact because nothing else
   * moved there in between.
   */
  private record(productId: string, locationId: string, delta: number, reason: string, refs: MovementRefs & { orderId?: string }) {
    const onHandAfter = this.place(productId, locationId).onHand;
    const key = `${productId}/${locationId}`;
    const open = this.openSale.get(key);
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
    this.movements.push({
      productId,
      locationId,
      delta,
      reason,
      orderIds: refs.orderId ? [refs.orderId] : null,
      syncRunId: refs.syncRunId ?? null,
      transferId: refs.transferId ?? null,
      returnId: refs.returnId ?? null,
      onHandAfter,
    });
    if (reason === 'sale') this.openSale.set(key, this.movements.length - 1);
    else this.openSale.delete(key);
    this.undo.push(() => {
      this.movements.pop();
      if (open === undefined) this.openSale.delete(key);
      else this.openSale.set(key, open);
    });
  }
}

function locationLevel(place: Place): LocationLevel {
  return { locationId: place.location.locationId, locationCode: place.location.code, ...counts(place), available: place.onHand - place.reserved };
}

/** A product's stock as the API shows it, read outside a batch (the same view a batch answers with). */
export function inventoryOf(row: LevelRow, read: { locations: LocationRow[]; places: PlaceRow[] }): InventoryLevel {
  return new StockPlan({ rows: [row], ...read }, row.updatedAt, 'fewest-splits').snapshot(row.productId);
}
