import { sql } from 'drizzle-orm';
import { check, index, integer, jsonb, numeric, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { createdAt, idempotencyColumns, idempotencyIndex } from './columns.ts';
import { locations } from './locations.ts';
import { orders } from './orders.ts';

/** Units of one product in a parcel. */
export type FulfilmentItem = { productId: string; quantity: number };

export const returnDispositions = ['restock', 'damaged'] as const;
export type ReturnDisposition = (typeof returnDispositions)[number];
/** Units of one product that came back, and what becomes of them. */
export type ReturnItem = { productId: string; quantity: number; disposition: ReturnDisposition };

/** `pending`: asked for, outcome not known yet (the reconciler settles it); `failed`: refused for good (a person looks). */
export const refundStatuses = ['pending', 'succeeded', 'failed'] as const;
export type RefundStatus = (typeof refundStatuses)[number];

/**
 * A parcel that left one location with some of an order's units. Written once, never changed: the
 * units an order has shipped are the sum of its fulfilments (an order shipped before fulfilments
 * existed has none, and shipped everything).
 */
export const fulfilments = pgTable(
  'fulfilments',
  {
    id: uuid('id').primaryKey(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    locationId: uuid('location_id')
      .notNull()
      .references(() => locations.id),
    items: jsonb('items').$type<FulfilmentItem[]>().notNull(),
    trackingNumber: text('tracking_number'),
    ...idempotencyColumns(),
    createdAt: createdAt(),
  },
  (t) => [
    index('fulfilments_order_idx').on(t.orderId, t.id),
    idempotencyIndex('fulfilments_idempotency_key', t),
  ],
);

/**
 * Units of an order that came back to one location, and the refund for them. The refund has a
 * reconcile slot of its own (`refund_due_at`, `refund_until`, `refund_attempts`): while it is
 * `pending` the provider is asked again, under the return's own idempotency key, until it answers
 * or the horizon passes (then `refund_attention` says why a person must look).
 */
export const returns = pgTable(
  'returns',
  {
    id: uuid('id').primaryKey(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    /** Where the units came back to (restocked units are on hand there). */
    locationId: uuid('location_id')
      .notNull()
      .references(() => locations.id),
    items: jsonb('items').$type<ReturnItem[]>().notNull(),
    /** Null: no refund was asked for. */
    refundStatus: text('refund_status', { enum: refundStatuses }),
    refundAmount: numeric('refund_amount', { precision: 14, scale: 2 }),
    /** The provider's refund id, once it answered. */
    refundReference: text('refund_reference'),
    /** The provider's Idempotency-Key for this refund: every call for it, by any process, sends it. */
    refundKey: text('refund_key'),
    /** When the provider is asked again about a pending refund; null: nothing due. */
    refundDueAt: timestamp('refund_due_at', { withTimezone: true, mode: 'string' }),
    /** How long asking goes on (RECONCILE_HORIZON_MS) before a person must look. */
    refundUntil: timestamp('refund_until', { withTimezone: true, mode: 'string' }),
    refundAttempts: integer('refund_attempts').notNull().default(0),
    refundAttention: text('refund_attention'),
    ...idempotencyColumns(),
    createdAt: createdAt(),
  },
  (t) => [
    index('returns_order_idx').on(t.orderId, t.id),
    index('returns_refund_due_idx')
      .on(t.refundDueAt)
      .where(sql`${t.refundDueAt} IS NOT NULL`),
    idempotencyIndex('returns_idempotency_key', t),
    check('returns_refund_status_known', sql`${t.refundStatus} IN ('pending', 'succeeded', 'failed')`),
    check('returns_refund_complete', sql`(${t.refundStatus} IS NULL) = (${t.refundAmount} IS NULL AND ${t.refundKey} IS NULL)`),
    check('returns_refund_amount_not_negative', sql`${t.refundAmount} >= 0`),
  ],
);
