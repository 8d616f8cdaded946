import { iso } from '../../db/client.ts';
import type { OUTBOX_FORMAT } from '../../db/outbox.ts';
import type { Counts } from '../../actors/stock-plan.ts';
import type { LineAllocation, OrderFacts, OrderItem, OrderStatus } from '../orders/order-state.ts';
import { itemsView } from '../orders/views.ts';
import type { Order } from '../orders/orders.models.ts';
import type { Transfer } from '../transfers/transfers.models.ts';
import type { Fulfilment, Return } from '../orders/after-sale.models.ts';
import type { SyncRun } from '../warehouse/warehouse.service.ts';
import type { Webhook } from '../webhooks/webhooks.models.ts';
import type { HoldRecord } from '../holds/hold-book.ts';

/**
 * The outbox record: what one committed transaction changed, with a snapshot of each thing as of
 * that commit (`events.changes`, format 2). Writers put one record per transaction; readers (the
 * event stream, webhooks) expand it into one event per change. A snapshot never needs the live
 * row: an `order.reserved` event still shows the order as reserved when the order has long been
 * processed.
 */
export type OrderRecord = {
  id: string;
  status: OrderStatus;
  /** The status before this change; null when the order was accepted by this transaction. */
  previous: OrderStatus | null;
  /** The order row's version after this change: one more for each change, so two changes in one transaction have two. */
  version: number;
  /** Absent: 0. */
  attempts?: number;
  /** Absent: null. */
  lastError?: string | null;
  /** Absent: null. */
  payment?: Order['payment'];
  /** When work on the order is next due, from the commit (absent or null: nothing due). */
  nextAttemptInMs?: number | null;
  /** Where its units were held as of this change (absent: nowhere yet). They change after acceptance, so each record says. */
  allocations?: LineAllocation[];
  /** Its fulfilments and returns as of this change (absent: none): what shipped and came back, and each refund's state then. */
  fulfilments?: Fulfilment[];
  returns?: Return[];
  /** What the provider had refunded as of this change (absent: nothing). */
  refunded?: string;
  /**
   * The document this change made (absent: the change is one of status or payment): its event is
   * `order.fulfilment.created` or `order.returned`, with the document beside the order.
   */
  made?: { kind: 'fulfilment' | 'return'; id: string };
  /**
   * What never changes after acceptance (`OrderFacts`): writers leave it out, because it is on the
   * order row for ever; `readEvents` puts it back before a reader sees the record.
   */
  customerId?: string;
  items?: OrderItem[];
  total?: string;
  createdAt?: string;
};

export type InventoryRecord = {
  productId: string;
  onHand: number;
  reserved: number;
  awaitingShipment: number;
  /** Absent (records before locations): 0. */
  held?: number;
  incoming?: number;
  /** Each location the product has counts at, as of this transaction (absent: records before locations). */
  locations?: (Counts & { locationId: string; locationCode: string })[];
  /** The locations whose counts this transaction changed. */
  changedLocationIds?: string[];
  /** `available` before this transaction (thresholds are crossings: compare the two). */
  previousAvailable: number;
  /**
   * The product's `lowStockThreshold` as of this transaction (null: no alert). The stock engine
   * reads it with the level, under the product's lock; absent, readers look it up.
   */
  lowStockThreshold?: number | null;
};

/** A transfer as of a transaction that received units of it (`transfer.received`): the whole Transfer, small and wanted whole. */
export type TransferRecord = Transfer;

/** The one builder of a transfer's record. */
export const transferRecord = (transfer: Transfer): TransferRecord => ({ ...transfer, items: transfer.items.map((item) => ({ ...item })) });

/**
 * `webhookDisabled`: a subscription the delivery engine turned off after failing for too long.
 * `holds`: holds whose time ran out and whose stock this transaction gave back (each once).
 */
export type EventRecord = {
  v: typeof OUTBOX_FORMAT;
  orders?: OrderRecord[];
  inventory?: InventoryRecord[];
  transfers?: TransferRecord[];
  syncRun?: SyncRun;
  webhookDisabled?: Webhook;
  holds?: HoldRecord[];
};

/** An order's state right after a change: everything `orderRecord` needs. */
export type OrderState = {
  id: string;
  status: OrderStatus;
  previous: OrderStatus | null;
  version: number;
  attempts: number;
  lastError: string | null;
  payment: Order['payment'];
  /** When work on the order is next due, from the commit (null: nothing due). */
  nextAttemptInMs: number | null;
  allocations: LineAllocation[] | null;
  /** Absent: none (an order that has not shipped). */
  fulfilments?: Fulfilment[];
  returns?: Return[];
  /** Absent: nothing refunded. */
  refunded?: string;
  made?: OrderRecord['made'];
};

const NOTHING_REFUNDED = '0.00';

/** The one builder of an order's record: what differs from an order's defaults, and nothing else. */
export function orderRecord(state: OrderState): OrderRecord {
  return {
    id: state.id,
    status: state.status,
    previous: state.previous,
    version: state.version,
    ...(state.attempts ? { attempts: state.attempts } : {}),
    ...(state.lastError ? { lastError: state.lastError } : {}),
    ...(state.payment ? { payment: state.payment } : {}),
    ...(state.nextAttemptInMs !== null ? { nextAttemptInMs: state.nextAttemptInMs } : {}),
    ...(state.allocations?.length ? { allocations: state.allocations } : {}),
    ...(state.fulfilments?.length ? { fulfilments: state.fulfilments } : {}),
    ...(state.returns?.length ? { returns: state.returns } : {}),
    ...(state.refunded !== undefined && state.refunded !== NOTHING_REFUNDED ? { refunded: state.refunded } : {}),
    ...(state.made ? { made: state.made } : {}),
  };
}

/** One change, as a reader sees it. Its id `<tx>-<row>-<index>` orders all events. */
export type StreamEvent = { id: string; type: string; data: Record<string, unknown> };

export type EventRow = {
  tx: string;
  id: string;
  changes: EventRecord | Record<string, unknown>[];
  createdAt: string;
  /** The facts of the orders the record names, by id (filled by `readEvents`). */
  facts?: Map<string, OrderFacts>;
};

/** The ids of the orders whose facts a row's record leaves out. */
export function orderIdsOf(row: Pick<EventRow, 'changes'>): string[] {
  return Array.isArray(row.changes) ? [] : (row.changes.orders ?? []).filter((o) => o.customerId === undefined).map((o) => o.id);
}

/** The order as the API shows it (`Order`), as of the record's commit at `at`. */
export function orderAt(record: OrderRecord, at: string, facts?: OrderFacts): Order {
  const nextAttemptInMs = record.nextAttemptInMs ?? null;
  const docs = { fulfilments: record.fulfilments ?? [], returns: record.returns ?? [] };
  return {
    id: record.id,
    customerId: record.customerId ?? facts?.customerId ?? '',
    status: record.status,
    items: itemsView(record.items ?? facts?.items ?? [], record.allocations ?? null, record.status, docs),
    total: record.total ?? facts?.total ?? '0.00',
    attempts: record.attempts ?? 0,
    nextAttemptAt: nextAttemptInMs === null ? null : new Date(Date.parse(at) + nextAttemptInMs).toISOString(),
    lastError: record.lastError ?? null,
    payment: record.payment ?? null,
    ...docs,
    refunded: record.refunded ?? NOTHING_REFUNDED,
    createdAt: record.createdAt ?? facts?.createdAt ?? at,
    updatedAt: at,
  };
}

/**
 * An order change is `order.status` (its status, payment or attempts changed), or the event of the
 * document it made, the document beside the order: `order.fulfilment.created` (`fulfilment`) or
 * `order.returned` (`return`).
 */
function madeEvent(record: OrderRecord, order: Order, data: Record<string, unknown>): Omit<StreamEvent, 'id'> {
  const made = record.made;
  if (made?.kind === 'fulfilment') return { type: 'order.fulfilment.created', data: { ...data, fulfilment: order.fulfilments.find((f) => f.id === made.id) } };
  if (made?.kind === 'return') return { type: 'order.returned', data: { ...data, return: order.returns.find((r) => r.id === made.id) } };
  return { type: 'order.status', data };
}

/**
 * The events of one outbox row, in a fixed order (orders, inventory, transfers, the sync run, a webhook, holds), so
 * that an index names the same event on every read. Rows written before format 2 (a plain array
 * of changes) are expanded as they are.
 */
export function expandRow(row: EventRow): StreamEvent[] {
  const at = iso(row.createdAt);
  const id = (index: number) => `${row.tx}-${row.id}-${index}`;
  if (Array.isArray(row.changes)) {
    return row.changes.map((change, index) => {
      const { type, ...data } = change;
      return { id: id(index), type: String(type), data: { ...data, at } };
    });
  }
  const events: StreamEvent[] = [];
  for (const order of row.changes.orders ?? []) {
    const snapshot = orderAt(order, at, row.facts?.get(order.id));
    const base = { ...snapshot, orderId: order.id, previous: order.previous, error: snapshot.lastError, version: order.version, at };
    events.push({ id: id(events.length), ...madeEvent(order, snapshot, base) });
  }
  for (const level of row.changes.inventory ?? []) {
    const { previousAvailable, lowStockThreshold, locations, changedLocationIds, ...counts } = level;
    const inventory = {
      ...counts,
      held: counts.held ?? 0,
      incoming: counts.incoming ?? 0,
      available: counts.onHand - counts.reserved,
      updatedAt: at,
      ...(locations ? { locations: locations.map((l) => ({ ...l, available: l.onHand - l.reserved })) } : {}),
    };
    events.push({
      id: id(events.length),
      type: 'inventory.changed',
      data: { ...inventory, ...(lowStockThreshold === undefined ? {} : { lowStockThreshold }), ...(changedLocationIds ? { locationIds: changedLocationIds } : {}), previousAvailable, at },
    });
  }
  for (const transfer of row.changes.transfers ?? []) events.push({ id: id(events.length), type: 'transfer.received', data: { ...transfer, at } });
  const syncRun = row.changes.syncRun;
  if (syncRun) events.push({ id: id(events.length), type: 'warehouse.sync.completed', data: { ...syncRun, at } });
  const webhook = row.changes.webhookDisabled;
  if (webhook) events.push({ id: id(events.length), type: 'webhook.disabled', data: { ...webhook, at } });
  for (const hold of row.changes.holds ?? []) events.push({ id: id(events.length), type: 'hold.expired', data: { ...hold, at } });
  return events;
}
