/** Every event a subscription can ask for (API.md, "Webhooks"). No imports: the dashboard's bundle uses it too. */
export const webhookEventTypes = [
  'order.created',
  'order.reserved',
  'order.processed',
  'order.failed',
  'order.cancelled',
  'order.shipped',
  'order.fulfilment.created',
  'order.returned',
  'inventory.changed',
  'inventory.low',
  'inventory.out_of_stock',
  'warehouse.sync.completed',
  'transfer.received',
  'webhook.disabled',
  'hold.expired',
] as const;
export type WebhookEventType = (typeof webhookEventTypes)[number];
