import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, numeric, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { createdAt, updatedAt } from './columns.ts';

export const orderStatuses = ['pending', 'reserved', 'processed', 'shipped', 'failed', 'cancelled'] as const;

/** Units of one line at one location. */
export type LineAllocation = { productId: string; locationId: string; quantity: number };

/** A line of an order as accepted: the price is the catalog's at that moment, for ever. */
export type OrderItem = { productId: string; quantity: number; unitPrice: string };

/**
 * The durable record of an order and of the work left to do on it: one row per order, its lines
 * inline (they never change after acceptance). In-memory queues are only a cache of this table:
 * `status`, `next_attempt_at` and the lease say what a process must resume. The normal steps
 * leave a timestamp (`reserved_at`, `processed_at`, `shipped_at`) rather than a log row.
 */
export const orders = pgTable(
  'orders',
  {
    id: uuid('id').primaryKey(),
    customerId: text('customer_id').notNull(),
    status: text('status', { enum: orderStatuses }).notNull().default('pending'),
    /**
     * The status the order was accepted with (reserved, pending, or failed): what an idempotent
     * replay answers again, and where its log starts. Written by the intake; a row inserted without
     * it (by code before migration 0006) gets its status from a trigger.
     */
    bornStatus: text('born_status', { enum: orderStatuses }),
    items: jsonb('items').$type<OrderItem[]>().notNull(),
    /**
     * Where each line's units are held or were sold from, set when the order is reserved; null for
     * an order never reserved, or reserved by code before migration 0007 (all at the default location).
     */
    allocations: jsonb('allocations').$type<LineAllocation[]>(),
    /** The locations the order may take its stock from (`locationIds`); null: any active one. */
    locationIds: uuid('location_ids').array(),
    total: numeric('total', { precision: 14, scale: 2 }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    lastError: text('last_error'),
    paymentStatus: text('payment_status'),
    paymentReference: text('payment_reference'),
    paymentAttempts: integer('payment_attempts').notNull().default(0),
    /** What the provider has refunded (succeeded refunds only: returns', and a cancel's); never above `total`. */
    refunded: numeric('refunded', { precision: 14, scale: 2 }).notNull().default('0'),
    /** Set while the payment provider must be asked again (a charge may land, a refund is owed). */
    reconcileAt: timestamp('reconcile_at', { withTimezone: true, mode: 'string' }),
    /** How long asking may go on before a person must look (RECONCILE_HORIZON_MS). */
    reconcileUntil: timestamp('reconcile_until', { withTimezone: true, mode: 'string' }),
    reconcileAttempts: integer('reconcile_attempts').notNull().default(0),
    /** Why a person must look at this order (set when reconciling gave up); null normally. */
    attention: text('attention'),
    /** Fencing token: every write by a worker names the version it read. */
    version: integer('version').notNull().default(1),
    leaseOwner: uuid('lease_owner'),
    leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'string' }),
    /** The credential the key belongs to: two callers never collide on one key. */
    idempotencyScope: text('idempotency_scope'),
    idempotencyKey: text('idempotency_key'),
    requestHash: text('request_hash'),
    reservedAt: timestamp('reserved_at', { withTimezone: true, mode: 'string' }),
    processedAt: timestamp('processed_at', { withTimezone: true, mode: 'string' }),
    shippedAt: timestamp('shipped_at', { withTimezone: true, mode: 'string' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('orders_status_known', sql`${t.status} IN ('pending','reserved','processed','shipped','failed','cancelled')`),
    check('orders_total_not_negative', sql`${t.total} >= 0`),
    index('orders_customer_idx').on(t.customerId, t.id),
    index('orders_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.status} IN ('pending','reserved')`),
    index('orders_reconcile_idx')
      .on(t.reconcileAt)
      .where(sql`${t.reconcileAt} IS NOT NULL`),
    uniqueIndex('orders_idempotency_key')
      .on(t.idempotencyScope, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} IS NOT NULL`),
    index('orders_key_created_idx')
      .on(t.createdAt)
      .where(sql`${t.idempotencyKey} IS NOT NULL`),
  ],
);

/** Rows for what is not a normal step: failed attempts, failures, cancels, refunds, notes. */
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
