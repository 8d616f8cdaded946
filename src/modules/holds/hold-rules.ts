import type { StockDesk } from '../../actors/stock-plan.ts';
import type { HoldItem } from '../../db/schema/holds.ts';
import { AppError, conflict, notFound } from '../../lib/errors.ts';
import { requestedLocations } from '../orders/allocations.ts';
import { change, holdView, keyOf, statusOf, unitsOf, type HoldBook } from './hold-book.ts';
import type { Hold, ShortItem } from './holds.models.ts';
import type { HoldRow } from './holds.queries.ts';

/**
 * What each hold command does, on the batch's copy of the levels and of the holds (`HoldBook`),
 * under the locks of every product of the hold: one small function per command, each throwing
 * `AppError` before it changes anything, and changing the book last.
 */

export type NewHold = { customerId: string | null; items: { productId: string; quantity: number }[]; ttlSeconds: number; locationIds?: string[] };

export type HoldCommand =
  | { kind: 'create'; id: string; input: NewHold; scope: string; key: string | null; hash: string | null }
  /** `customerId`: a customer token's restriction (another customer's hold is not found). */
  | { kind: 'extend'; holdId: string; ttlSeconds: number; customerId?: string }
  | { kind: 'release'; holdId: string; customerId?: string };

export type HoldOutcome =
  | { kind: 'held'; hold: Hold; replayed: boolean }
  /** Nothing held: each line that could not be allocated, with what was available for it. */
  | { kind: 'short'; items: ShortItem[] }
  | { kind: 'hold'; hold: Hold };

/** `at` plus `seconds`, as ISO text: the transaction's time is every change's time. */
const later = (at: string, seconds: number) => new Date(Date.parse(at) + seconds * 1000).toISOString();

/**
 * All lines or none, each allocated like an order's (ALLOCATION_STRATEGY, `locationIds`), held
 * with `held`. A short line does not throw: nothing is held, but lapsed holds that the allocation
 * gave back stay given back (their time was up anyway).
 */
export function create(desk: StockDesk, command: Extract<HoldCommand, { kind: 'create' }>, book: HoldBook): HoldOutcome {
  if (command.key !== null) {
    const first = book.keyed.get(keyOf(command.scope, command.key));
    if (first) return replay(first, command.hash!);
  }
  const { items, locationIds } = command.input;
  const unknown = items.flatMap((item, i) => (book.holdable.has(item.productId) && desk.has(item.productId) ? [] : [{ item, i }]));
  if (unknown.length > 0) {
    throw new AppError(
      'validation',
      `not holdable: ${unknown.map(({ item }) => item.productId).join(', ')}`,
      unknown.map(({ i }) => ({ path: `body.items[${i}].productId`, message: 'is not a product that can be held (unknown or archived)' })),
    );
  }
  const allowed = requestedLocations(desk, locationIds);
  const found = items.map((item) => ({ ...item, allocations: desk.allocate(item.productId, item.quantity, allowed) }));
  const short = found.filter((line) => line.allocations === null);
  if (short.length > 0) return { kind: 'short', items: short.map((line) => ({ productId: line.productId, quantity: line.quantity, available: desk.available(line.productId, allowed) })) };
  const held: HoldItem[] = found.map((line) => ({ productId: line.productId, quantity: line.quantity, allocations: line.allocations! }));
  for (const [productId, allocations] of unitsOf(held)) desk.reserve(productId, allocations, { held: true });
  const hold: HoldRow = {
    id: command.id,
    customerId: command.input.customerId,
    status: 'active',
    items: held,
    locationIds: locationIds ?? null,
    expiresAt: later(desk.at, command.input.ttlSeconds),
    orderId: null,
    createdAt: desk.at,
    lapsed: false,
    scope: command.key === null ? null : command.scope,
    key: command.key,
    requestHash: command.hash,
  };
  book.holds.set(hold.id, hold);
  book.created.push({ id: hold.id, customerId: hold.customerId, items: held, locationIds: hold.locationIds, expiresAt: hold.expiresAt, scope: hold.scope, key: hold.key, hash: hold.requestHash });
  return { kind: 'held', hold: holdView(hold), replayed: false };
}

/** Later expiry, from now: only while it is active (an expired, released or converted hold is 409). */
export function extend(desk: StockDesk, command: Extract<HoldCommand, { kind: 'extend' }>, book: HoldBook): HoldOutcome {
  const hold = owned(book, command.holdId, command.customerId);
  const status = statusOf(hold);
  if (status !== 'active') throw conflict(`a hold that is ${status} cannot be extended`, { holdStatus: status });
  change(book, hold, { expiresAt: later(desk.at, command.ttlSeconds) });
  return { kind: 'hold', hold: holdView(hold) };
}

/** Its stock back on sale at once; a hold that is no longer active is left as it is (releasing is idempotent). */
export function release(desk: StockDesk, command: Extract<HoldCommand, { kind: 'release' }>, book: HoldBook): HoldOutcome {
  const hold = owned(book, command.holdId, command.customerId);
  if (statusOf(hold) === 'active') {
    for (const [productId, allocations] of unitsOf(hold.items)) desk.release(productId, allocations, { held: true });
    change(book, hold, { status: 'released' });
  }
  return { kind: 'hold', hold: holdView(hold) };
}

/** The hold's held units become plain reserved units of the order, where they are; the hold is converted. Throws nothing the caller could undo. */
export function convert(desk: StockDesk, book: HoldBook, holdId: string, orderId: string) {
  const hold = book.holds.get(holdId)!;
  for (const [productId, allocations] of unitsOf(hold.items)) desk.convertHeld(productId, allocations);
  change(book, hold, { status: 'converted', orderId });
  return hold.items.flatMap((item) => item.allocations.map((a) => ({ productId: item.productId, locationId: a.locationId, quantity: a.quantity })));
}

/** The hold named, as this batch sees it; another customer's is not found (its existence is not revealed either). */
function owned(book: HoldBook, holdId: string, customerId: string | undefined): HoldRow {
  const hold = book.holds.get(holdId);
  if (!hold || (customerId !== undefined && hold.customerId !== customerId)) throw notFound(`hold ${holdId}`);
  return hold;
}

/** A key seen before: the same request gets the hold again (as it is now), another request a 422. */
function replay(first: HoldRow, hash: string): HoldOutcome {
  if (first.requestHash !== hash) {
    throw new AppError('validation', 'this Idempotency-Key was used with a different request body', [
      { path: 'headers.idempotency-key', message: 'was already used for another request' },
    ]);
  }
  return { kind: 'held', hold: holdView(first), replayed: true };
}
