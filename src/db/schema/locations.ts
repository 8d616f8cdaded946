import { sql } from 'drizzle-orm';
import { boolean, check, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { products } from './catalog.ts';
import { createdAt, idempotencyColumns, idempotencyIndex, updatedAt } from './columns.ts';

export const locationKinds = ['warehouse', 'store'] as const;

/** The default location, made by drizzle/0007_locations.sql with this id on every database. */
export const DEFAULT_LOCATION_ID = '01900000-0000-7000-8000-00000000d0c0';
export const transferStatuses = ['in_transit', 'received', 'cancelled'] as const;

/**
 * A place stock is kept: a warehouse, a shop floor, a store customers pick up from. One is the
 * default (migration 0007 made it, `code` `default`): it holds what existed before locations and
 * takes every stock change that names none. An inactive location is never allocated from.
 */
export const locations = pgTable(
  'locations',
  {
    id: uuid('id').primaryKey(),
    code: text('code').notNull(),
    name: text('name').notNull(),
    kind: text('kind', { enum: locationKinds }).notNull().default('warehouse'),
    /** Lower first (the `priority` allocation strategy, and ties of the others). */
    priority: integer('priority').notNull().default(100),
    active: boolean('active').notNull().default(true),
    isDefault: boolean('is_default').notNull().default(false),
    /** Deleted (it held nothing then): its ledger rows and transfers still name it, and its code may be used again. */
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'string' }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('locations_code_lower_key')
      .on(sql`lower(${t.code})`)
      .where(sql`${t.deletedAt} IS NULL`),
    uniqueIndex('locations_one_default').on(t.isDefault).where(sql`${t.isDefault}`),
    check('locations_kind_known', sql`${t.kind} IN ('warehouse', 'store')`),
    check('locations_default_active', sql`NOT ${t.isDefault} OR ${t.active}`),
  ],
);

/**
 * A product's stock at one location; `inventory_levels` keeps the product's sums. `held` is the
 * part of `reserved` that holds (cart reservations) keep; `incoming` is on its way by transfer and
 * never sellable; `awaiting_shipment` is sold and still there until it ships. The database itself
 * keeps every location in range, whatever the sums.
 */
export const locationLevels = pgTable(
  'location_levels',
  {
    productId: uuid('product_id')
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    locationId: uuid('location_id')
      .notNull()
      .references(() => locations.id),
    onHand: integer('on_hand').notNull().default(0),
    reserved: integer('reserved').notNull().default(0),
    held: integer('held').notNull().default(0),
    incoming: integer('incoming').notNull().default(0),
    awaitingShipment: integer('awaiting_shipment').notNull().default(0),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.productId, t.locationId] }),
    check('location_levels_on_hand_not_negative', sql`${t.onHand} >= 0`),
    check('location_levels_reserved_within_on_hand', sql`${t.reserved} >= 0 AND ${t.reserved} <= ${t.onHand}`),
    check('location_levels_held_within_reserved', sql`${t.held} >= 0 AND ${t.held} <= ${t.reserved}`),
    check('location_levels_incoming_not_negative', sql`${t.incoming} >= 0`),
    check('location_levels_awaiting_shipment_not_negative', sql`${t.awaitingShipment} >= 0`),
  ],
);

export type TransferItem = { productId: string; quantity: number; received: number };

/** Stock on its way from one location to another: gone from the source's on hand, incoming at the destination until received. */
export const transfers = pgTable(
  'transfers',
  {
    id: uuid('id').primaryKey(),
    fromLocationId: uuid('from_location_id')
      .notNull()
      .references(() => locations.id),
    toLocationId: uuid('to_location_id')
      .notNull()
      .references(() => locations.id),
    status: text('status', { enum: transferStatuses }).notNull().default('in_transit'),
    items: jsonb('items').$type<TransferItem[]>().notNull(),
    ...idempotencyColumns(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('transfers_status_known', sql`${t.status} IN ('in_transit', 'received', 'cancelled')`),
    check('transfers_two_places', sql`${t.fromLocationId} <> ${t.toLocationId}`),
    idempotencyIndex('transfers_idempotency_key', t),
  ],
);
