import type { Lapse } from '../../actors/stock-plan.ts';
import { iso } from '../../db/client.ts';
import type { HoldItem, holdStatuses } from '../../db/schema/holds.ts';
import type { Hold } from './holds.models.ts';
import type { HoldChange, HoldRow, NewHoldRow } from './holds.queries.ts';

export type HoldStatus = (typeof holdStatuses)[number];

/** What a hold's record in the outbox says: the Hold as of the commit (for `hold.expired`). */
export type HoldRecord = Hold;

/**
 * The holds of one stock batch, as read under its products' locks and as changed by its works so
 * far: the keeper's state (`Keeper`), which the order intake also changes when an order takes a
 * hold's stock. Every change of a hold goes through here, so a batch sees one hold once.
 */
export type HoldBook = {
  /** Holds the batch's works name, and those created by it. */
  holds: Map<string, HoldRow>;
  /** Active holds of the batch's products whose time is up: their stock may be given back. */
  lapsed: Map<string, HoldRow>;
  /** Holds stored under the idempotency keys of the batch's new holds (`scope\nkey`). */
  keyed: Map<string, HoldRow>;
  /** The products the batch's new holds may hold (not archived). */
  holdable: Set<string>;
  created: NewHoldRow[];
  changes: Map<string, HoldChange>;
  /** Filled by `prepare`, counted by `committed`. */
  counts: { created: number; converted: number; released: number; expired: number };
};

export const emptyBook = (): HoldBook => ({
  holds: new Map(),
  lapsed: new Map(),
  keyed: new Map(),
  holdable: new Set(),
  created: [],
  changes: new Map(),
  counts: { created: 0, converted: 0, released: 0, expired: 0 },
});

export const keyOf = (scope: string, key: string) => `${scope}\n${key}`;

/** What a client reads: `expired` from `expiresAt` on, whatever was stored. */
export const statusOf = (hold: Pick<HoldRow, 'status' | 'lapsed'>): HoldStatus => (hold.status === 'active' && hold.lapsed ? 'expired' : hold.status);

export function holdView(hold: HoldRow): Hold {
  return {
    id: hold.id,
    customerId: hold.customerId,
    status: statusOf(hold),
    items: hold.items.map((item) => ({ productId: item.productId, quantity: item.quantity, allocations: item.allocations })),
    expiresAt: iso(hold.expiresAt),
    orderId: hold.orderId,
    createdAt: iso(hold.createdAt),
  };
}

/** The hold's units, as the stock engine gives them back when its time is up. */
export const lapseOf = (hold: Pick<HoldRow, 'id' | 'items'>): Lapse => ({
  id: hold.id,
  units: hold.items.flatMap((item) => item.allocations.map((a) => ({ productId: item.productId, locationId: a.locationId, quantity: a.quantity }))),
});

/** A hold's lines by product: what the stock desk reserves, releases or converts for it. */
export const unitsOf = (items: readonly HoldItem[]) => items.map((item) => [item.productId, item.allocations] as const);

/** The hold's state after a change, recorded for the batch's write. */
export function change(book: HoldBook, hold: HoldRow, next: Partial<Pick<HoldRow, 'status' | 'expiresAt' | 'orderId'>>) {
  Object.assign(hold, next);
  book.changes.set(hold.id, { id: hold.id, status: hold.status, expiresAt: hold.expiresAt, orderId: hold.orderId });
}
