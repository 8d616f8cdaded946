import { systemClock, type Clock } from '../../lib/clock.ts';
import { parsePage, WarehouseError, type StockCount, type StockPage, type WarehouseClient } from './client.ts';

/**
 * How a page request goes wrong:
 * - `down`: the warehouse answers 503;
 * - `slow`: it answers after the client gave up;
 * - `malformed`: the page is not what the protocol says;
 * - `unknown-sku`: the page carries a SKU the shop does not sell.
 */
export type WarehouseFailure = 'down' | 'slow' | 'malformed' | 'unknown-sku';
export const warehouseFailures: readonly WarehouseFailure[] = ['down', 'slow', 'malformed', 'unknown-sku'];

/** A count's key: the SKU, and the location's code when it is not the default one (a count without one is for the default). */
const keyOf = (sku: string, location?: string) => (location === undefined ? sku : `${sku}\u0000${location}`);
const countOf = (key: string, onHand: number): StockCount => {
  const [sku, location] = key.split('\u0000') as [string, string | undefined];
  return location === undefined ? { sku, onHand } : { sku, onHand, location };
};

/**
 * The simulated warehouse's stock and misbehaviour, shared by the in-process client and the HTTP
 * server: a physical count per SKU and location (the location's code; none: the default location).
 */
export class WarehouseStock {
  private readonly counts = new Map<string, number>();
  /** Upcoming page requests: a failure, or null for a normal answer. */
  private readonly forced: (WarehouseFailure | null)[] = [];

  constructor(private readonly clock: Pick<Clock, 'random'> = systemClock) {}

  get size(): number {
    return this.counts.size;
  }

  set(items: StockCount[]) {
    for (const { sku, onHand, location } of items) this.counts.set(keyOf(sku, location), onHand);
  }

  /** Adds the SKUs (at their locations) it does not know yet (a new product arrives with the shop's own count). */
  learn(items: StockCount[]) {
    for (const { sku, onHand, location } of items) if (!this.counts.has(keyOf(sku, location))) this.counts.set(keyOf(sku, location), onHand);
  }

  get(sku: string, location?: string): number | undefined {
    return this.counts.get(keyOf(sku, location));
  }

  all(): StockCount[] {
    return [...this.counts].map(([key, onHand]) => countOf(key, onHand));
  }

  /** Physical counts drift: about `rate` of the SKUs change by up to ±`maxStep`. Returns how many changed. */
  drift(rate: number, maxStep = 3): number {
    let changed = 0;
    for (const [sku, count] of this.counts) {
      if (this.clock.random() >= rate) continue;
      const step = Math.round((this.clock.random() * 2 - 1) * maxStep) || 1;
      const next = Math.max(0, count + step);
      if (next !== count) changed++;
      this.counts.set(sku, next);
    }
    return changed;
  }

  /** The next `count` page requests fail with `mode`, after `after` normal ones. */
  failNext(mode: WarehouseFailure, count = 1, after = 0) {
    for (let i = 0; i < after; i++) this.forced.push(null);
    for (let i = 0; i < count; i++) this.forced.push(mode);
  }

  clearForced() {
    this.forced.length = 0;
  }

  nextFailure(): WarehouseFailure | undefined {
    return this.forced.shift() ?? undefined;
  }

  /** Pages in key order (SKU, then location); the cursor is the last key of the previous page. */
  page(cursor: string | null, limit: number): StockPage {
    const keys = [...this.counts.keys()].sort();
    const start = cursor === null ? 0 : keys.findIndex((key) => key > cursor);
    const slice = start < 0 ? [] : keys.slice(start, start + limit);
    const last = slice.at(-1);
    return {
      items: slice.map((key) => countOf(key, this.counts.get(key)!)),
      nextCursor: last !== undefined && start + limit < keys.length ? last : null,
    };
  }
}

/** What a failure looks like on the wire (the HTTP server sends it; the in-process client parses it). */
export function failedPage(mode: 'malformed' | 'unknown-sku', page: StockPage): unknown {
  if (mode === 'malformed') return { items: [{ sku: page.items[0]?.sku ?? 'X', onHand: 'many' }], nextCursor: page.nextCursor };
  return { ...page, items: [...page.items, { sku: `UNKNOWN-${Math.floor(Math.random() * 1e6)}`, onHand: 7 }] };
}

/**
 * The built-in warehouse, in process. Before each full scan it learns the catalog's SKUs it has
 * not seen (so a demo shop always has a warehouse to sync with); drift happens on a timer (or by
 * `stock.drift()`), so two syncs in a row see the same counts.
 */
export class SimulatedWarehouse implements WarehouseClient {
  constructor(
    readonly stock: WarehouseStock,
    private readonly options: { timeoutMs: number; catalog: () => Promise<StockCount[]> },
  ) {}

  async fetchPage(cursor: string | null, limit: number): Promise<StockPage> {
    if (cursor === null) this.stock.learn(await this.options.catalog());
    const failure = this.stock.nextFailure();
    if (failure === 'down') throw new WarehouseError('warehouse answered 503');
    if (failure === 'slow') {
      await Bun.sleep(this.options.timeoutMs);
      throw new WarehouseError(`warehouse unreachable: no answer within ${this.options.timeoutMs} ms`);
    }
    const page = this.stock.page(cursor, limit);
    return failure ? parsePage(failedPage(failure, page)) : page;
  }
}
