import type { Executor } from '../../db/client.ts';
import { DEFAULT_LOCATION_ID } from '../../db/schema/locations.ts';
import { productLockKey } from '../../actors/stock.queries.ts';

export type ProductRow = {
  id: string;
  sku: string;
  name: string;
  description: string;
  price: string;
  archivedAt: string | null;
  createdAt: string;
  updatedAt: string;
  onHand: number;
  reserved: number;
  held: number;
  lowStockThreshold: number | null;
  categories: { id: string; name: string }[];
};

/** What the schema has (see README, expand/contract): migration 0001 brings categories, 0004 low-stock thresholds. */
export type ProductSchema = { categories: boolean; webhooks: boolean };

/**
 * The same code serves products on a schema before migration 0001 or 0004, without touching the
 * tables and columns that do not exist yet.
 */
function productColumns(sql: Executor, schema: ProductSchema) {
  const threshold = schema.webhooks ? sql`p.low_stock_threshold` : sql`NULL::int`;
  const categories = schema.categories
    ? sql`coalesce((
        SELECT json_agg(json_build_object('id', c.id, 'name', c.name) ORDER BY lower(c.name))
        FROM product_categories pc JOIN categories c ON c.id = pc.category_id
        WHERE pc.product_id = p.id), '[]'::json)`
    : sql`'[]'::json`;
  return sql`
    p.id, p.sku, p.name, p.description, p.price::text AS price, p.archived_at AS "archivedAt",
    p.created_at AS "createdAt", p.updated_at AS "updatedAt", l.on_hand AS "onHand", l.reserved, l.held,
    ${threshold} AS "lowStockThreshold", ${categories} AS categories`;
}

export async function findProduct(sql: Executor, id: string, schema: ProductSchema): Promise<ProductRow | undefined> {
  const [row] = await sql<ProductRow[]>`
    SELECT ${productColumns(sql, schema)} FROM products p JOIN inventory_levels l ON l.product_id = p.id WHERE p.id = ${id}`;
  return row;
}

export type ProductFilter = { q?: string; categoryId?: string; includeArchived?: boolean; lowStock?: boolean; afterId?: string; limit: number };

const escapeLike = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);

/** In id order (time-ordered UUIDv7s: oldest first); `afterId` is the cursor. */
export function listProducts(sql: Executor, filter: ProductFilter, schema: ProductSchema) {
  const pattern = filter.q ? `%${escapeLike(filter.q)}%` : undefined;
  return sql<ProductRow[]>`
    SELECT ${productColumns(sql, schema)} FROM products p JOIN inventory_levels l ON l.product_id = p.id
    WHERE true
      ${filter.includeArchived ? sql`` : sql`AND p.archived_at IS NULL`}
      ${filter.afterId ? sql`AND p.id > ${filter.afterId}` : sql``}
      ${pattern ? sql`AND (p.name ILIKE ${pattern} OR p.sku ILIKE ${pattern})` : sql``}
      ${filter.lowStock ? sql`AND l.on_hand - l.reserved <= p.low_stock_threshold` : sql``}
      ${filter.categoryId ? sql`AND EXISTS (SELECT 1 FROM product_categories pc WHERE pc.product_id = p.id AND pc.category_id = ${filter.categoryId})` : sql``}
    ORDER BY p.id LIMIT ${filter.limit}`;
}

export type NewProduct = { id: string; sku: string; name: string; description: string; price: string; lowStockThreshold?: number | null };

/**
 * The product, its stock (the sums, and the default location's row, where its initial stock is)
 * and its opening ledger entry. `low_stock_threshold` is named only when given: it does not exist
 * before migration 0004. The stock row's version starts at 1: the trigger that carries writes of
 * code before locations to the default location is for version 0.
 */
export async function insertProduct(tx: Executor, product: NewProduct, initialStock: number): Promise<void> {
  const threshold = product.lowStockThreshold === undefined ? tx`` : tx`, low_stock_threshold`;
  const thresholdValue = product.lowStockThreshold === undefined ? tx`` : tx`, ${product.lowStockThreshold}::int`;
  await tx`
    INSERT INTO products (id, sku, name, description, price${threshold})
    VALUES (${product.id}, ${product.sku}, ${product.name}, ${product.description}, ${product.price}::numeric${thresholdValue})`;
  await tx`INSERT INTO inventory_levels (product_id, on_hand, reserved, version) VALUES (${product.id}, ${initialStock}, 0, 1)`;
  await tx`INSERT INTO location_levels (product_id, location_id, on_hand) VALUES (${product.id}, ${DEFAULT_LOCATION_ID}, ${initialStock})`;
  if (initialStock > 0) {
    await tx`
      INSERT INTO stock_movements (product_id, location_id, delta, reason, on_hand_after)
      VALUES (${product.id}, ${DEFAULT_LOCATION_ID}, ${initialStock}, 'initial', ${initialStock})`;
  }
}

/**
 * Changes only the fields given (an absent field keeps its value; a null threshold clears it). The
 * stock level's version moves with it: a stock batch decided on the old price or threshold fails
 * its fence and is decided again (stock-engine.ts).
 */
export async function updateProduct(sql: Executor, id: string, patch: Partial<Pick<NewProduct, 'name' | 'description' | 'price' | 'lowStockThreshold'>>): Promise<boolean> {
  const set = (column: string, value: unknown, cast = '') => (value === undefined ? sql`` : sql`, ${sql(column)} = ${value as string}${sql.unsafe(cast)}`);
  const rows = await sql`
    WITH moved AS (${moveVersion(sql, id)})
    UPDATE products SET updated_at = now()
      ${set('name', patch.name)} ${set('description', patch.description)} ${set('price', patch.price, '::numeric')}
      ${set('low_stock_threshold', patch.lowStockThreshold, '::int')}
    WHERE id = ${id} RETURNING 1`;
  return rows.length > 0;
}

/** Locks the product row against concurrent changes of the catalog. */
export async function lockProductRow(tx: Executor, id: string) {
  const [row] = await tx<{ id: string; archivedAt: string | null }[]>`SELECT id, archived_at AS "archivedAt" FROM products WHERE id = ${id} FOR UPDATE`;
  return row;
}

/** Archived: no order can be placed for it any more, also by a stock batch decided before (its version moves). */
export async function archiveProduct(tx: Executor, id: string) {
  await tx`
    WITH moved AS (${moveVersion(tx, id)})
    UPDATE products SET archived_at = coalesce(archived_at, now()), updated_at = now() WHERE id = ${id}`;
}

/** A change of what stock batches decide on (a price, a threshold, whether it can be ordered) moves the level's version. */
const moveVersion = (tx: Executor, productId: string) => tx`UPDATE inventory_levels SET version = version + 1 WHERE product_id = ${productId} RETURNING 1`;

export async function deleteProduct(tx: Executor, id: string) {
  await tx`DELETE FROM products WHERE id = ${id}`;
}

export async function replaceProductCategories(tx: Executor, productId: string, categoryIds: string[]) {
  await tx`DELETE FROM product_categories WHERE product_id = ${productId}`;
  if (categoryIds.length > 0) {
    await tx`INSERT INTO product_categories (product_id, category_id) SELECT ${productId}, c FROM unnest(${categoryIds}::uuid[]) AS u(c)`;
  }
  await tx`UPDATE products SET updated_at = now() WHERE id = ${productId}`;
}

/**
 * Serialises with the stock engine (same advisory lock as every stock writer, and order intake,
 * which reads the product's price under it): no order can be placed for it meanwhile.
 */
export async function lockProductStock(tx: Executor, id: string): Promise<{ reserved: number; ordersPlaced: number } | undefined> {
  await tx`SELECT pg_advisory_xact_lock(${productLockKey(id).toString()}::bigint)`;
  const [row] = await tx<{ reserved: number; ordersPlaced: number }[]>`
    SELECT reserved, orders_placed AS "ordersPlaced" FROM inventory_levels WHERE product_id = ${id}`;
  return row;
}
