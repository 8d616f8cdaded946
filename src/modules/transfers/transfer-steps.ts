import type { Applied, Participant, StockWork } from '../../actors/stock-engine.ts';
import type { StockDesk } from '../../actors/stock-plan.ts';
import { iso, type Executor } from '../../db/client.ts';
import { AppError, conflict, notFound, type FieldError } from '../../lib/errors.ts';
import { transferRecord, type TransferRecord } from '../events/records.ts';
import type { Transfer, TransferCreate } from './transfers.models.ts';
import { findKeyedTransfers, readTransfers, writeTransfers, type TransferRow } from './transfers.queries.ts';

export type Line = { productId: string; quantity: number };

/** What a work does to a transfer: create it, receive some of its units, or cancel what is still on its way. */
export type TransferAct =
  | { kind: 'create'; id: string; input: TransferCreate; scope: string; key: string | null; hash: string | null }
  | { kind: 'receive'; id: string; items: Line[] }
  | { kind: 'cancel'; id: string };

export type TransferWork = StockWork<TransferOutcome> & { act: TransferAct };
/** The transfer after the work; `replayed`: an Idempotency-Key seen before answered the first transfer again. */
export type TransferOutcome = { transfer: Transfer; replayed: boolean };

/** A transfer in the batch: its row as changed so far, and whether the batch creates it. */
type Tracked = { row: TransferRow; created: boolean; changed: boolean };
type Ctx = { transfers: Map<string, Tracked>; keyed: Map<string, TransferRow>; records: TransferRecord[] };

const keyOf = (scope: string, key: string) => `${scope}\n${key}`;

export function transferView(row: TransferRow): Transfer {
  return {
    id: row.id,
    fromLocationId: row.fromLocationId,
    toLocationId: row.toLocationId,
    status: row.status,
    items: row.items.map(({ productId, quantity, received }) => ({ productId, quantity, received })),
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

/** Fails the work alone with a 422 naming each field at fault, when there is one. */
function refuse(what: string, errors: FieldError[]) {
  if (errors.length > 0) throw new AppError('validation', `${what}: ${errors.map((e) => `${e.path} ${e.message}`).join('; ')}`, errors);
}

/**
 * The transfers side of stock transactions: the only code that writes `transfers`. A transfer's
 * works lock all of its products, so every change of one transfer is serialised with the others
 * and with its stock; each work decides on the batch's copy of the levels and of the transfer, and
 * the batch writes each transfer once. Units leave the source's on hand at creation (`transfer-out`),
 * wait in the destination's `incoming`, and land in its on hand when received (`transfer-in`) or
 * back at the source when cancelled (`transfer-cancel`); every movement names the transfer.
 */
export class TransferSteps implements Participant<TransferWork, Ctx> {
  work(act: TransferAct, productIds: readonly string[]): TransferWork {
    return { productIds: [...new Set(productIds)], participant: this as Participant<StockWork<TransferOutcome>, unknown>, act };
  }

  async read(tx: Executor, works: TransferWork[]): Promise<Ctx> {
    const ids = works.flatMap(({ act }) => (act.kind === 'create' ? [] : [act.id]));
    const keys = works.flatMap(({ act }) => (act.kind === 'create' && act.key !== null ? [{ scope: act.scope, key: act.key }] : []));
    const [rows, keyed] = await Promise.all([readTransfers(tx, [...new Set(ids)]), findKeyedTransfers(tx, keys)]);
    return {
      transfers: new Map(rows.map((row) => [row.id, { row, created: false, changed: false }])),
      keyed: new Map(keyed.map((row) => [keyOf(row.scope!, row.key!), row])),
      records: [],
    };
  }

  apply(desk: StockDesk, work: TransferWork, ctx: Ctx): TransferOutcome {
    const { act } = work;
    if (act.kind === 'create') return this.create(desk, act, ctx);
    const tracked = ctx.transfers.get(act.id);
    if (!tracked) throw notFound(`transfer ${act.id}`);
    return act.kind === 'receive' ? this.receive(desk, tracked, act.items, ctx) : this.cancel(desk, tracked);
  }

  prepare(_applied: Applied<TransferWork>[], ctx: Ctx) {
    const tracked = [...ctx.transfers.values()];
    const created = tracked.filter((t) => t.created).map((t) => t.row);
    const changed = tracked.filter((t) => !t.created && t.changed).map((t) => t.row);
    return {
      outbox: { transfers: ctx.records },
      write: created.length + changed.length > 0 ? (tx: Executor) => writeTransfers(tx, created, changed) : undefined,
    };
  }

  /** The source's available must cover every item (409 naming the short ones); the units leave it for the destination's `incoming`. */
  private create(desk: StockDesk, act: Extract<TransferAct, { kind: 'create' }>, ctx: Ctx): TransferOutcome {
    if (act.key !== null) {
      const first = ctx.keyed.get(keyOf(act.scope, act.key));
      if (first) return replay(first, act.hash!);
    }
    const { fromLocationId: from, toLocationId: to, items } = act.input;
    const place = (path: string, id: string): FieldError[] => {
      const location = desk.location(id);
      return location?.active ? [] : [{ path, message: location ? 'is an inactive location' : 'is not a location' }];
    };
    refuse('not locations stock can move between', [...place('body.fromLocationId', from), ...place('body.toLocationId', to)]);
    refuse(
      'not products that can be moved',
      items.flatMap((item, i) => (desk.has(item.productId) ? [] : [{ path: `body.items[${i}].productId`, message: 'is not a product' }])),
    );
    const short = items.flatMap((item) => {
      const counts = desk.countsAt(item.productId, from);
      const available = counts.onHand - counts.reserved;
      return available < item.quantity ? [{ productId: item.productId, quantity: item.quantity, available }] : [];
    });
    if (short.length > 0) {
      const list = short.map((s) => `${s.productId} (${s.quantity} wanted, ${s.available} available)`).join(', ');
      throw conflict(`not enough available at the source for: ${list}; nothing was moved`, { shortItems: short });
    }
    for (const item of items) {
      desk.move(item.productId, from, -item.quantity, 'transfer-out', { transferId: act.id });
      desk.changeIncoming(item.productId, to, item.quantity);
    }
    const row: TransferRow = {
      id: act.id,
      fromLocationId: from,
      toLocationId: to,
      status: 'in_transit',
      items: items.map((item) => ({ productId: item.productId, quantity: item.quantity, received: 0 })),
      scope: act.key === null ? null : act.scope,
      key: act.key,
      requestHash: act.hash,
      createdAt: desk.at,
      updatedAt: desk.at,
    };
    ctx.transfers.set(row.id, { row, created: true, changed: true });
    return { transfer: transferView(row), replayed: false };
  }

  /** What arrived leaves the destination's `incoming` for its on hand; never more than is still on its way. */
  private receive(desk: StockDesk, tracked: Tracked, lines: Line[], ctx: Ctx): TransferOutcome {
    const { row } = tracked;
    if (row.status !== 'in_transit') throw conflict(`this transfer is ${row.status}: nothing is on its way any more`, { transferStatus: row.status });
    const itemOf = (productId: string) => row.items.find((item) => item.productId === productId);
    refuse(
      'not products of this transfer',
      lines.flatMap((line, i) =>
        itemOf(line.productId) && desk.has(line.productId) ? [] : [{ path: `body.items[${i}].productId`, message: 'is not a product of this transfer' }],
      ),
    );
    const over = lines.flatMap((line) => {
      const item = itemOf(line.productId)!;
      const inTransit = item.quantity - item.received;
      return line.quantity > inTransit ? [{ productId: line.productId, quantity: line.quantity, inTransit }] : [];
    });
    if (over.length > 0) {
      const list = over.map((o) => `${o.productId} (${o.quantity} received, ${o.inTransit} in transit)`).join(', ');
      throw conflict(`more than is still in transit: ${list}; nothing was received`, { overItems: over });
    }
    for (const line of lines) {
      desk.changeIncoming(line.productId, row.toLocationId, -line.quantity);
      desk.move(line.productId, row.toLocationId, line.quantity, 'transfer-in', { transferId: row.id });
    }
    const items = row.items.map((item) => ({ ...item, received: item.received + (lines.find((l) => l.productId === item.productId)?.quantity ?? 0) }));
    const status = items.every((item) => item.received === item.quantity) ? 'received' : 'in_transit';
    tracked.row = { ...row, items, status, updatedAt: desk.at };
    tracked.changed = true;
    const transfer = transferView(tracked.row);
    ctx.records.push(transferRecord(transfer));
    return { transfer, replayed: false };
  }

  /**
   * What is still on its way goes back to the source's on hand. Cancelling a cancelled transfer
   * changes nothing (200, as for orders); a received one has nothing left to cancel (409). A product
   * erased since has nothing to give back.
   */
  private cancel(desk: StockDesk, tracked: Tracked): TransferOutcome {
    const { row } = tracked;
    if (row.status === 'cancelled') return { transfer: transferView(row), replayed: false };
    if (row.status === 'received') throw conflict('this transfer was received in full: nothing is left to cancel', { transferStatus: row.status });
    for (const item of row.items) {
      const left = item.quantity - item.received;
      if (left === 0 || !desk.has(item.productId)) continue;
      desk.changeIncoming(item.productId, row.toLocationId, -left);
      desk.move(item.productId, row.fromLocationId, left, 'transfer-cancel', { transferId: row.id });
    }
    tracked.row = { ...row, status: 'cancelled', updatedAt: desk.at };
    tracked.changed = true;
    return { transfer: transferView(tracked.row), replayed: false };
  }
}

/** Keys seen before: the same body gets the first answer again (the transfer as created), another body a 422. */
function replay(first: TransferRow, hash: string): TransferOutcome {
  if (first.requestHash !== hash) {
    throw new AppError('validation', 'this Idempotency-Key was used with a different request body', [
      { path: 'headers.idempotency-key', message: 'was already used for another request' },
    ]);
  }
  const created = { ...first, status: 'in_transit' as const, items: first.items.map((item) => ({ ...item, received: 0 })), updatedAt: first.createdAt };
  return { transfer: transferView(created), replayed: true };
}
