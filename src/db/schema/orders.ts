import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  integer,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core';
import { createdAt, products, updatedAt } from './catalog.ts';

export const orderStatuses = ['pending', 'reserved', 'processed', 'shipped', 'failed', 'cancelled'] as const;

/**
 * The durable record of an order and of the work left to do on it. In-memory queues are only a
 * cache of this table: `status`, `next_attempt_at` and the lease say what a process must resume.
 */
export const orders = pgTable(
  'orders',
  {
    id: uuid('id').primaryKey(),
    customerId: text('customer_id').notNull(),
    status: text('status', { enum: orderStatuses }).notNull().default('pending'),
    total: numeric('total', { precision: 14, scale: 2 }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    lastError: text('last_error'),
    paymentStatus: text('payment_status'),
    paymentReference: text('payment_reference'),
    paymentAttempts: integer('payment_attempts').notNull().default(0),
    /** Set when the payment provider must be asked again (refund owed, outcome unknown). */
    reconcileAt: timestamp('reconcile_at', { withTimezone: true, mode: 'string' }),
    /** Fencing token: every write by a worker names the version it read. */
    version: integer('version').notNull().default(1),
    leaseOwner: uuid('lease_owner'),
    leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'string' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('orders_status_known', sql`${t.status} IN ('pending','reserved','processed','shipped','failed','cancelled')`),
    check('orders_total_not_negative', sql`${t.total} >= 0`),
    index('orders_customer_idx').on(t.customerId, t.id),
    index('orders_status_idx').on(t.status, t.id),
    index('orders_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.status} IN ('pending','reserved')`),
    index('orders_reconcile_idx')
      .on(t.reconcileAt)
      .where(sql`${t.reconcileAt} IS NOT NULL`),
  ],
);

export const orderItems = pgTable(
  'order_items',
  {
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    productId: uuid('product_id')
      .notNull()
      .references(() => products.id),
    /** Position in the order as the client sent it. */
    line: integer('line').notNull(),
    quantity: integer('quantity').notNull(),
    unitPrice: numeric('unit_price', { precision: 12, scale: 2 }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.orderId, t.productId] }),
    index('order_items_product_idx').on(t.productId),
    check('order_items_quantity_range', sql`${t.quantity} BETWEEN 1 AND 10000`),
  ],
);

/** One row per status change and per failed attempt, written in the transaction that made it. */
export const orderLogs = pgTable(
  'order_logs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id, { onDelete: 'cascade' }),
    status: text('status', { enum: orderStatuses }).notNull(),
    message: text('message').notNull(),
    errorMessage: text('error_message'),
    processedAt: timestamp('processed_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [index('order_logs_order_idx').on(t.orderId, t.id)],
);

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    key: text('key').primaryKey(),
    requestHash: text('request_hash').notNull(),
    /** The first answer is the order as accepted, rebuilt from its immutable fields. */
    orderId: uuid('order_id')
      .notNull()
      .references(() => orders.id),
    createdAt: createdAt(),
  },
  (t) => [index('idempotency_keys_created_idx').on(t.createdAt)],
);
