import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, numeric, pgTable, text, timestamp, uniqueIndex, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { locations } from './locations.ts';

import { createdAt, updatedAt } from './columns.ts';

export const products = pgTable(
  'products',
  {
    id: uuid('id').primaryKey(),
    sku: text('sku').notNull(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    price: numeric('price', { precision: 12, scale: 2 }).notNull(),
    archivedAt: timestamp('archived_at', { withTimezone: true, mode: 'string' }),
    /** `inventory.low` fires when `available` falls to this or below (migration 0004; null: no alert). */
    lowStockThreshold: integer('low_stock_threshold'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    uniqueIndex('products_sku_lower_key').on(sql`lower(${t.sku})`),
    check('products_price_not_negative', sql`${t.price} >= 0`),
    check('products_low_stock_threshold_not_negative', sql`${t.lowStockThreshold} >= 0`),
  ],
);

/**
 * One row per product: the sums of its stock over all locations (`location_levels` has each
 * location's). `on_hand` is what the shop can sell; `reserved` is the part of it held by orders
 * not yet paid (and by holds: `held`). `awaiting_shipment` is stock already sold (it left
 * `on_hand` at the sale) still physically there until the order ships: the warehouse's count
 * includes it. `incoming` is on its way by transfer. `version` grows with every write of the stock
 * engine (code before migration 0007 does not know it: a trigger carries its writes to the default
 * location).
 */
export const inventoryLevels = pgTable(
  'inventory_levels',
  {
    productId: uuid('product_id')
      .primaryKey()
      .references(() => products.id, { onDelete: 'cascade' }),
    onHand: integer('on_hand').notNull().default(0),
    reserved: integer('reserved').notNull().default(0),
    awaitingShipment: integer('awaiting_shipment').notNull().default(0),
    /** Orders ever placed for the product: one that has any is archived, never erased. */
    ordersPlaced: integer('orders_placed').notNull().default(0),
    held: integer('held').notNull().default(0),
    incoming: integer('incoming').notNull().default(0),
    version: integer('version').notNull().default(0),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('inventory_reserved_not_negative', sql`${t.reserved} >= 0`),
    check('inventory_reserved_within_on_hand', sql`${t.reserved} <= ${t.onHand}`),
    check('inventory_awaiting_shipment_not_negative', sql`${t.awaitingShipment} >= 0`),
    check('inventory_held_within_reserved', sql`${t.held} >= 0 AND ${t.held} <= ${t.reserved}`),
    check('inventory_incoming_not_negative', sql`${t.incoming} >= 0`),
  ],
);

/**
 * Append-only ledger: the sum of a product's deltas at a location is its `on_hand` there (and over
 * all locations the product's). It refers to the product's stock row (which the same transaction
 * has just updated and locked) rather than the product row, so writing the ledger never takes a
 * lock on the product row that order intake also locks. A row written by code before migration
 * 0007 (which names no location) is at the default location.
 */
export const stockMovements = pgTable(
  'stock_movements',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    productId: uuid('product_id')
      .notNull()
      .references(() => inventoryLevels.productId, { onDelete: 'cascade' }),
    delta: integer('delta').notNull(),
    reason: text('reason').notNull(),
    /** The orders a sale or restock was for: a run of sales in one stock batch is one row. */
    orderIds: uuid('order_ids').array(),
    syncRunId: uuid('sync_run_id'),
    locationId: uuid('location_id')
      .notNull()
      .default(sql`stockroom_default_location()`)
      .references((): AnyPgColumn => locations.id),
    transferId: uuid('transfer_id'),
    /** The return a `return` movement put back on hand. */
    returnId: uuid('return_id'),
    /** The location's on hand after the movement. */
    onHandAfter: integer('on_hand_after').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index('stock_movements_product_id_idx').on(t.productId, t.id),
    check('stock_movements_delta_not_zero', sql`${t.delta} <> 0`),
    check('stock_movements_on_hand_after_not_negative', sql`${t.onHandAfter} >= 0`),
  ],
);

