import { expect } from 'bun:test';
import type { Executor } from '../../src/db/client.ts';
import { readEvents } from '../../src/modules/events/events.queries.ts';
import { expandRow } from '../../src/modules/events/records.ts';
import { webhookEvents, type WebhookEvent } from '../../src/modules/webhooks/event-map.ts';
import type { Api } from './service.ts';

/**
 * Shipping and returns in tests: a second location made with SQL (the locations API is another
 * issue's), stock put there through the API, and what an order's changes became as events.
 */
export async function newLocation(sql: Executor, code: string): Promise<string> {
  const id = Bun.randomUUIDv7();
  await sql`INSERT INTO locations (id, code, name) VALUES (${id}, ${`${code}-${id.slice(-6)}`}, ${code})`;
  return id;
}

export async function stockAt(api: Api, productId: string, locationId: string, delta: number) {
  const reply = await api.post(`/api/v1/products/${productId}/inventory/adjustments`, { delta, reason: 'received', locationId });
  expect(reply.status).toBe(200);
}

/** A product's counts at each location it has any, by location id. */
export async function levelsOf(api: Api, productId: string): Promise<Record<string, { onHand: number; reserved: number; awaitingShipment: number }>> {
  const inventory = (await api.get(`/api/v1/products/${productId}/inventory`)).body as { locations: { locationId: string; onHand: number; reserved: number; awaitingShipment: number }[] };
  return Object.fromEntries(inventory.locations.map(({ locationId, onHand, reserved, awaitingShipment }) => [locationId, { onHand, reserved, awaitingShipment }]));
}

/** Every webhook event the outbox holds for an order, oldest first (what a subscription to all of them receives). */
export async function webhookEventsOf(sql: Executor, orderId: string): Promise<WebhookEvent[]> {
  const rows = await readEvents(sql, { tx: '0', id: '0' }, 100_000);
  return rows.flatMap(expandRow).flatMap((event) => webhookEvents(event, new Map())).filter((event) => event.key === `order:${orderId}`);
}

/** The order's rows, for "a refused request changes nothing". */
export async function orderState(sql: Executor, orderId: string) {
  const [row] = await sql`
    SELECT o.version, o.status, o.refunded::text AS refunded,
           (SELECT count(*)::int FROM fulfilments f WHERE f.order_id = o.id) AS fulfilments,
           (SELECT count(*)::int FROM returns r WHERE r.order_id = o.id) AS returns
    FROM orders o WHERE o.id = ${orderId}`;
  return row;
}
