import type { Category } from '../../modules/categories/categories.models.ts';
import type { Inventory as InventoryModel, LocationLevel as LocationLevelModel, Movement } from '../../modules/inventory/inventory.models.ts';
import type { LocationListItem, LocationStock as LocationStockModel } from '../../modules/locations/locations.models.ts';
import type { Transfer } from '../../modules/transfers/transfers.models.ts';
import type { OrderStatus } from '../../modules/orders/order-state.ts';
import type { Order, OrderCounts, OrderLog } from '../../modules/orders/orders.models.ts';
import type { Fulfilment, Return } from '../../modules/orders/after-sale.models.ts';
import type { Product } from '../../modules/products/products.models.ts';
import type { SyncRun as SyncRunModel } from '../../modules/warehouse/warehouse.models.ts';
import type { ApiKey, ApiKeyCreated } from '../../modules/api-keys/api-keys.models.ts';
import type { Me as MeModel } from '../../http/me.routes.ts';
import type { Delivery, WebhookCreated, WebhookWithHealth } from '../../modules/webhooks/webhooks.models.ts';
import { webhookEventTypes } from '../../modules/webhooks/event-types.ts';
import type { Hold } from '../../modules/holds/holds.models.ts';

/**
 * The shapes the dashboard reads, taken from the server's own models (type-only imports: nothing
 * of the server ends up in the browser bundle).
 */
export type { ApiKey, ApiKeyCreated, Category, Fulfilment, Hold, Movement, Order, OrderCounts, OrderLog, OrderStatus, Product, Return };
/** The signed-in credential: its role and every operation (`METHOD /path`) it may call. */
export type Me = typeof MeModel.static;
export type Inventory = typeof InventoryModel.static;
export type LocationLevel = typeof LocationLevelModel.static;
/** A location as the list answers it (`totals` with `withTotals=true`); a single read has no totals. */
export type Location = LocationListItem;
export type LocationStock = typeof LocationStockModel.static;
export type { Transfer };
export type TransferStatus = Transfer['status'];

export type Page<T> = { items: T[]; nextCursor: string | null };

export type Webhook = WebhookWithHealth;
export type { Delivery, WebhookCreated };
export { webhookEventTypes };

export type SyncRun = typeof SyncRunModel.static;

/** A `Record` so that a status added on the server fails to compile here until it has a label. */
export const STATUS_LABELS: Record<OrderStatus, string> = {
  pending: 'Pending',
  reserved: 'Reserved',
  processed: 'Processed',
  shipped: 'Shipped',
  failed: 'Failed',
  cancelled: 'Cancelled',
};
export const STATUSES = Object.keys(STATUS_LABELS) as OrderStatus[];

/** Statuses from which `POST /orders/:id/cancel` changes something. */
export const CANCELLABLE: ReadonlySet<OrderStatus> = new Set(['pending', 'reserved', 'processed']);

/** A `Record`, as the order statuses: a transfer status added on the server needs a label here. */
export const TRANSFER_STATUS_LABELS: Record<TransferStatus, string> = {
  in_transit: 'In transit',
  received: 'Received',
  cancelled: 'Cancelled',
};
export const TRANSFER_STATUSES = Object.keys(TRANSFER_STATUS_LABELS) as TransferStatus[];
