import type { Executor, Sql } from '../../db/client.ts';
import { expandRow, type EventRow, type StreamEvent } from '../events/records.ts';
import { deliveryBody, thresholdsToLookUp, webhookEvents } from './event-map.ts';
import { readEvents } from '../events/events.queries.ts';
import { insertDeliveries, lockSubscriptionsToFill, lowStockThresholds, moveCursors, type Cursor, type NewDelivery, type Subscription } from './deliveries.queries.ts';

/** A cursor past every event of its row. */
const WHOLE_ROW = 2_147_483_647;

const compare = (a: Cursor, b: Cursor) => {
  const [ta, tb, ra, rb] = [BigInt(a.tx), BigInt(b.tx), BigInt(a.row), BigInt(b.row)];
  return ta !== tb ? (ta < tb ? -1 : 1) : ra !== rb ? (ra < rb ? -1 : 1) : a.index - b.index;
};

/**
 * The outbox from a cursor on, read as the event stream reads it (`readEvents`: only rows no
 * running transaction can still precede). A cursor inside a row (a replay) reads that row again.
 */
function outboxFrom(sql: Executor, from: Cursor, limit: number): Promise<EventRow[]> {
  const row = from.index >= WHOLE_ROW ? from.row : (BigInt(from.row) - 1n).toString();
  return readEvents(sql, { tx: from.tx, id: row }, limit);
}

/** True when the event at (row, index) is after the subscription's cursor: not yet written for it. */
const isAfter = (cursor: Cursor, row: EventRow, index: number) => compare({ tx: row.tx, row: row.id, index }, cursor) > 0;

/**
 * One step of the enqueuer, in one transaction: lock the enabled subscriptions no other process
 * is filling, read the outbox from the earliest of their cursors, turn each row into webhook events
 * (once, for all of them), write the deliveries each subscription asked for and move each cursor
 * to the end of what was read. A crash rolls the step back whole. Stops after about `limit` rows
 * or deliveries. Says how many deliveries it wrote and whether there may be more to read.
 */
export async function fillStep(sql: Sql, limit: number, now: () => Date): Promise<{ written: number; more: boolean }> {
  return sql.begin(async (tx) => {
    const subscriptions = await lockSubscriptionsToFill(tx);
    if (subscriptions.length === 0) return { written: 0, more: false };
    const from = subscriptions.map((s) => s.cursor).reduce((a, b) => (compare(a, b) <= 0 ? a : b));
    const rows = await outboxFrom(tx, from, limit);
    const expanded = rows.map((row) => ({ row, events: expandRow(row) }));
    const thresholds = await lowStockThresholds(tx, thresholdsToLookUp(expanded.flatMap((e) => e.events)));
    const deliveries: NewDelivery[] = [];
    let last: EventRow | undefined;
    for (const { row, events } of expanded) {
      for (const subscription of subscriptions) deliveries.push(...deliveriesFor(subscription, row, events, thresholds));
      last = row;
      if (deliveries.length >= limit) break;
    }
    if (!last) return { written: 0, more: false };
    const end: Cursor = { tx: last.tx, row: last.id, index: WHOLE_ROW };
    const moves = subscriptions.filter((s) => compare(s.cursor, end) < 0).map((s) => ({ id: s.id, cursor: end }));
    await insertDeliveries(tx, deliveries, now());
    await moveCursors(tx, moves);
    return { written: deliveries.length, more: moves.length > 0 && (rows.length >= limit || deliveries.length >= limit) };
  });
}

function deliveriesFor(subscription: Subscription, row: EventRow, events: StreamEvent[], thresholds: ReadonlyMap<string, number | null>): NewDelivery[] {
  const wanted = new Set<string>(subscription.events);
  return events.flatMap((event, index) => {
    if (!isAfter(subscription.cursor, row, index)) return [];
    return webhookEvents(event, thresholds)
      .filter((e) => wanted.has(e.type))
      .map((e) => ({ webhookId: subscription.id, eventId: e.id, type: e.type, key: e.key, occurredAt: e.occurredAt, body: deliveryBody(e) }));
  });
}

