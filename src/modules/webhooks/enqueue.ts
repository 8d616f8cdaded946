import type { Executor, Sql } from '../../db/client.ts';
import { PG_INT_MAX } from '../../lib/bounds.ts';
import { expandRow, type EventRow } from '../events/records.ts';
import { deliveryBody, thresholdsToLookUp, webhookEvents, type WebhookEvent } from './event-map.ts';
import { readEvents } from '../events/events.queries.ts';
import { insertDeliveries, lockSubscriptionsToFill, lowStockThresholds, moveCursors, type Cursor, type NewDelivery, type Subscription } from './deliveries.queries.ts';

/** A cursor past every event of its row. */
const WHOLE_ROW = PG_INT_MAX;

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
    const wanted = new Map(subscriptions.map((s) => [s, new Set<string>(s.events)]));
    const bodies = new Map<WebhookEvent, string>();
    const bodyOf = (event: WebhookEvent) => bodies.get(event) ?? bodies.set(event, deliveryBody(event)).get(event)!;
    const deliveries: NewDelivery[] = [];
    let last: EventRow | undefined;
    for (const { row, events } of expanded) {
      const outgoing = events.map((event) => webhookEvents(event, thresholds));
      for (const subscription of subscriptions) deliveries.push(...deliveriesFor(subscription, wanted.get(subscription)!, row, outgoing, bodyOf));
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

/** `outgoing[i]`: the webhook events of the row's stream event `i`, mapped once for every subscription. */
function deliveriesFor(
  subscription: Subscription,
  wanted: ReadonlySet<string>,
  row: EventRow,
  outgoing: WebhookEvent[][],
  bodyOf: (event: WebhookEvent) => string,
): NewDelivery[] {
  return outgoing.flatMap((events, index) => {
    if (!isAfter(subscription.cursor, row, index)) return [];
    return events
      .filter((e) => wanted.has(e.type))
      .map((e) => ({ webhookId: subscription.id, eventId: e.id, type: e.type, key: e.key, occurredAt: e.occurredAt, body: bodyOf(e) }));
  });
}

