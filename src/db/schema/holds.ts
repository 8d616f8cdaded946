import { sql } from 'drizzle-orm';
import { check, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { createdAt, idempotencyColumns, idempotencyIndex, updatedAt } from './columns.ts';

export const holdStatuses = ['active', 'converted', 'released', 'expired'] as const;

/** A line of a hold: the units it keeps, and where (the same shape as an order line's allocations). */
export type HoldItem = { productId: string; quantity: number; allocations: { locationId: string; quantity: number }[] };

/**
 * Stock promised to a cart for a while (API.md, "Holds"): its units count in `reserved` and `held`
 * at the locations of `items` until it is converted into an order, released, or expires. Stored
 * `active` until one of those is written; from `expires_at` on it reads `expired` anyway, and the
 * partial index is how every process finds the ones whose stock is still to be given back.
 */
export const holds = pgTable(
  'holds',
  {
    id: uuid('id').primaryKey(),
    /** The shop's customer id; null for a hold made without one (a guest cart). */
    customerId: text('customer_id'),
    status: text('status', { enum: holdStatuses }).notNull().default('active'),
    items: jsonb('items').$type<HoldItem[]>().notNull(),
    /** The locations the hold was allowed to take its stock from; null: any active one. */
    locationIds: uuid('location_ids').array(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'string' }).notNull(),
    /** The order that took its stock (status `converted`). */
    orderId: uuid('order_id'),
    ...idempotencyColumns(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('holds_status_known', sql`${t.status} IN ('active', 'converted', 'released', 'expired')`),
    check('holds_converted_has_order', sql`(${t.status} = 'converted') = (${t.orderId} IS NOT NULL)`),
    index('holds_expiry_idx')
      .on(t.expiresAt)
      .where(sql`${t.status} = 'active'`),
    idempotencyIndex('holds_idempotency_key', t),
  ],
);
