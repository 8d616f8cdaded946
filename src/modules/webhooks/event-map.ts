import type { StreamEvent } from '../events/records.ts';
import { webhookEventTypes, type WebhookEventType } from './webhooks.models.ts';

/**
 * One event as a subscription receives it. `id` is `<stream event id>.<type>`: one stream event
 * (an order change, an inventory change) may become several webhook events, and each keeps its
 * own id on every read of the outbox, whatever else the same change became.
 */
export type WebhookEvent = { id: string; type: WebhookEventType; key: string; occurredAt: string; data: Record<string, unknown> };

const known = new Set<string>(webhookEventTypes);
const orderTypes = (status: string) => (known.has(`order.${status}`) ? [`order.${status}` as WebhookEventType] : []);

/** Order statuses an order can be born in besides `pending` (accepted with stock, or refused at once). */
const BORN_AS = new Set(['reserved', 'failed', 'cancelled']);

/**
 * An order change becomes `order.created` when the order was accepted by it (and `order.<status>`
 * too when it was born `reserved`, `failed` or `cancelled`), `order.<status>` when the status
 * changed, and nothing when it did not (a failed attempt). Rows from before format 2 carry only
 * `orderId`, `status` and `previous`; they map the same way with what they have.
 */
function orderEvents(data: Record<string, unknown>): WebhookEventType[] {
  const status = String(data.status);
  if (data.previous === null || data.previous === undefined) return ['order.created', ...(BORN_AS.has(status) ? orderTypes(status) : [])];
  return data.previous === status ? [] : orderTypes(status);
}

/** The Order as the API shows it: the record's own bookkeeping left out. */
function orderData(data: Record<string, unknown>): Record<string, unknown> {
  const { previous: _previous, version: _version, orderId, error: _error, at: _at, ...order } = data;
  return { id: order.id ?? orderId, ...order };
}

/**
 * `inventory.low` when `available` crosses the threshold downwards (before above it, now at or
 * below), `inventory.out_of_stock` when it reaches 0 from above: once per crossing, since a
 * change that stays below fires neither. Rows from before format 2 have no `previousAvailable`,
 * so they can only be `inventory.changed`.
 */
function inventoryEvents(data: Record<string, unknown>, threshold: number | null): WebhookEventType[] {
  const types: WebhookEventType[] = ['inventory.changed'];
  const before = data.previousAvailable;
  const now = Number(data.available);
  if (typeof before !== 'number') return types;
  if (threshold !== null && before > threshold && threshold >= now) types.push('inventory.low');
  if (before > 0 && now <= 0) types.push('inventory.out_of_stock');
  return types;
}

/** Inventory as the API shows it (`lowStockThreshold` added on `inventory.low`, which is about it). */
function inventoryData(data: Record<string, unknown>, type: WebhookEventType, threshold: number | null): Record<string, unknown> {
  const { previousAvailable: _previous, lowStockThreshold: _threshold, at, ...level } = data;
  return { ...level, updatedAt: level.updatedAt ?? at, ...(type === 'inventory.low' ? { lowStockThreshold: threshold } : {}) };
}

/** Products whose inventory events need their threshold looked up (the record did not carry it). */
export function thresholdsToLookUp(events: StreamEvent[]): string[] {
  const ids = events.filter((e) => e.type === 'inventory.changed' && e.data.lowStockThreshold === undefined && typeof e.data.previousAvailable === 'number');
  return [...new Set(ids.map((e) => String(e.data.productId)))];
}

/**
 * The webhook events of one stream event, in a fixed order. `thresholds` holds the looked-up
 * threshold of products whose record did not carry one.
 */
export function webhookEvents(event: StreamEvent, thresholds: ReadonlyMap<string, number | null>): WebhookEvent[] {
  const occurredAt = String(event.data.at);
  const make = (type: WebhookEventType, key: string, data: Record<string, unknown>): WebhookEvent => ({ id: `${event.id}.${type}`, type, key, occurredAt, data });
  const { data } = event;
  switch (event.type) {
    case 'order.status': {
      const order = orderData(data);
      return orderEvents(data).map((type) => make(type, `order:${order.id}`, order));
    }
    // The order with the document the change made beside it (`fulfilment`, `return`).
    case 'order.fulfilment.created':
    case 'order.returned': {
      const order = orderData(data);
      return [make(event.type, `order:${order.id}`, order)];
    }
    case 'inventory.changed': {
      const productId = String(data.productId);
      const threshold = data.lowStockThreshold === undefined ? (thresholds.get(productId) ?? null) : (data.lowStockThreshold as number | null);
      return inventoryEvents(data, threshold).map((type) => make(type, `product:${productId}`, inventoryData(data, type, threshold)));
    }
    case 'transfer.received': {
      const { at: _at, ...transfer } = data;
      return [make('transfer.received', `transfer:${transfer.id}`, transfer)];
    }
    case 'warehouse.sync.completed':
    case 'webhook.disabled':
    case 'hold.expired': {
      const { at: _at, ...rest } = data;
      const key = event.type === 'warehouse.sync.completed' ? 'warehouse' : `${event.type.split('.')[0]}:${rest.id}`;
      return [make(event.type, key, rest)];
    }
    default:
      return [];
  }
}

/** What is sent: `{ type, timestamp, data }` (API.md), written once so every retry sends the same bytes. */
export const deliveryBody = (event: WebhookEvent) => JSON.stringify({ type: event.type, timestamp: event.occurredAt, data: event.data });
