import type { Applied, Keeper, KeeperNeed, StockWork } from '../../actors/stock-engine.ts';
import type { Lapse, StockDesk } from '../../actors/stock-plan.ts';
import type { Executor } from '../../db/client.ts';
import type { LineAllocation } from '../orders/order-state.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { emptyBook, change, holdView, keyOf, lapseOf, statusOf, type HoldBook, type HoldRecord, type HoldStatus } from './hold-book.ts';
import { convert, create, extend, release, type HoldCommand, type HoldOutcome } from './hold-rules.ts';
import { findHoldableProducts, findHolds, findKeyedHolds, findLapsedHolds, writeHolds } from './holds.queries.ts';

export type HoldWork = StockWork<HoldOutcome> & { command: HoldCommand };

/** What an order placed with a hold needs of it, inside the order's stock batch (the orders module's view of holds). */
export interface HoldLink {
  /** The hold as the batch sees it (`kept`: the batch's keeper state), or undefined when there is none. */
  find(kept: unknown, holdId: string): { customerId: string | null; status: HoldStatus; items: readonly { productId: string; quantity: number }[] } | undefined;
  /** The active hold's units become the order's reserved units where they are, and the hold is converted with the order's id. Where they are. */
  convert(kept: unknown, desk: StockDesk, holdId: string, orderId: string): LineAllocation[];
}

/**
 * The holds module's side of stock transactions (the engine's `Keeper`): the only code that writes
 * `holds`. It applies hold commands, lends the order intake its holds (`HoldLink`), and records
 * the lapsed holds a batch gave back as `expired`, with their `hold.expired` record: the update is
 * conditional on the hold being still active and made under the locks of all its products, so
 * each hold expires once, whichever process or batch gives its stock back first.
 */
export class HoldKeeper implements Keeper<HoldWork, HoldBook>, HoldLink {
  constructor(private readonly metrics: Metrics) {}

  /** A command as a stock work: it locks the products of the hold. */
  work(productIds: readonly string[], command: HoldCommand): HoldWork {
    const keeps = command.kind === 'create' ? [] : [command.holdId];
    return { productIds, participant: this as Keeper<StockWork<HoldOutcome>, unknown>, keeps, command };
  }

  async read(tx: Executor, works: HoldWork[], need: KeeperNeed = { named: [], lapsing: [] }, into?: HoldBook): Promise<HoldBook> {
    const book = into ?? emptyBook();
    const creates = works.flatMap((w) => (w.command.kind === 'create' ? [w.command] : []));
    const keys = creates.flatMap((c) => (c.key === null ? [] : [{ scope: c.scope, key: c.key }]));
    const products = [...new Set(creates.flatMap((c) => c.input.items.map((i) => i.productId)))];
    const [named, lapsed, keyed, holdable] = await Promise.all([
      findHolds(tx, need.named),
      need.lapsing.length > 0 ? findLapsedHolds(tx, need.lapsing) : [],
      findKeyedHolds(tx, keys),
      products.length > 0 ? findHoldableProducts(tx, products) : [],
    ]);
    for (const hold of named) book.holds.set(hold.id, hold);
    for (const hold of lapsed) book.lapsed.set(hold.id, hold);
    for (const hold of keyed) book.keyed.set(keyOf(hold.scope!, hold.key!), hold);
    for (const { id } of holdable) book.holdable.add(id);
    return book;
  }

  lapses(book: HoldBook): readonly Lapse[] {
    return [...book.lapsed.values()].map(lapseOf);
  }

  apply(desk: StockDesk, work: HoldWork, book: HoldBook): HoldOutcome {
    const { command } = work;
    switch (command.kind) {
      case 'create':
        return create(desk, command, book);
      case 'extend':
        return extend(desk, command, book);
      case 'release':
        return release(desk, command, book);
    }
  }

  find(kept: unknown, holdId: string) {
    const hold = (kept as HoldBook | undefined)?.holds.get(holdId);
    return hold && { customerId: hold.customerId, status: statusOf(hold), items: hold.items };
  }

  convert(kept: unknown, desk: StockDesk, holdId: string, orderId: string): LineAllocation[] {
    return convert(desk, kept as HoldBook, holdId, orderId);
  }

  prepare(_applied: Applied<HoldWork>[], book: HoldBook, taken: readonly Lapse[] = []) {
    const records: HoldRecord[] = [];
    for (const { id } of taken) {
      const hold = book.lapsed.get(id)!;
      change(book, hold, { status: 'expired' });
      records.push(holdView(hold));
    }
    const changes = [...book.changes.values()];
    const ended = (status: HoldStatus) => changes.filter((c) => c.status === status).length;
    book.counts = { created: book.created.length, converted: ended('converted'), released: ended('released'), expired: ended('expired') };
    return {
      outbox: { holds: records },
      write: book.created.length > 0 || changes.length > 0 ? (tx: Executor) => writeHolds(tx, book.created, changes) : undefined,
    };
  }

  committed(book: HoldBook) {
    const { holdsCreated, holdsConverted, holdsReleased, holdsExpired } = this.metrics;
    holdsCreated.inc(book.counts.created);
    holdsConverted.inc(book.counts.converted);
    holdsReleased.inc(book.counts.released);
    holdsExpired.inc(book.counts.expired);
  }
}
