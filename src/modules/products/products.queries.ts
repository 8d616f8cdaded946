import { and, asc, eq, exists, gt, ilike, isNull, or, sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { productLockKey } from '../../actors/stock.queries.ts';
import { categories, inventoryLevels, productCategories, products, stockMovements } from '../../db/schema/index.ts';

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
  lowStockThreshold: number | null;
  categories: { id: string; name: string }[];
};

/** What the schema has (see README, expand/contract): migration 0001 brings categories, 0004 low-stock thresholds. */
export type ProductSchema = { categories: boolean; webhooks: boolean };

/**
 * The same code serves products on a schema before migration 0001 or 0004, without touching the
 * tables and columns that do not exist yet.
 */
function productColumns({ categories: withCategories, webhooks: withThresholds }: ProductSchema) {
  return {
    id: products.id,
    sku: products.sku,
    name: products.name,
    description: products.description,
    price: products.price,
    archivedAt: products.archivedAt,
    createdAt: products.createdAt,
    updatedAt: products.updatedAt,
    onHand: inventoryLevels.onHand,
    reserved: inventoryLevels.reserved,
    lowStockThreshold: withThresholds ? products.lowStockThreshold : sql<number | null>`NULL::int`,
    categories: withCategories
      ? sql<ProductRow['categories']>`coalesce((
          SELECT json_agg(json_build_object('id', c.id, 'name', c.name) ORDER BY lower(c.name))
          FROM ${productCategories} pc JOIN ${categories} c ON c.id = pc.category_id
          WHERE pc.product_id = ${products.id}), '[]'::json)`
      : sql<ProductRow['categories']>`'[]'::json`,
  };
}

export async function findProduct(db: DbOrTx, id: string, schema: ProductSchema): Promise<ProductRow | undefined> {
  const [row] = await db
    .select(productColumns(schema))
    .from(products)
    .innerJoin(inventoryLevels, eq(inventoryLevels.productId, products.id))
    .where(eq(products.id, id));
  return row;
}

export type ProductFilter = { q?: string; categoryId?: string; includeArchived?: boolean; lowStock?: boolean; afterId?: string; limit: number };

const escapeLike = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);

export function listProducts(db: DbOrTx, filter: ProductFilter, schema: ProductSchema): Promise<ProductRow[]> {
  const conditions: (SQL | undefined)[] = [];
  if (!filter.includeArchived) conditions.push(isNull(products.archivedAt));
  if (filter.afterId) conditions.push(gt(products.id, filter.afterId));
  if (filter.q) {
    const pattern = `%${escapeLike(filter.q)}%`;
    conditions.push(or(ilike(products.name, pattern), ilike(products.sku, pattern)));
  }
  if (filter.lowStock) conditions.push(sql`${inventoryLevels.onHand} - ${inventoryLevels.reserved} <= ${products.lowStockThreshold}`);
  if (filter.categoryId) {
    conditions.push(
      exists(
        db
          .select({ one: sql`1` })
          .from(productCategories)
          .where(and(eq(productCategories.productId, products.id), eq(productCategories.categoryId, filter.categoryId))),
      ),
    );
  }
  return db
    .select(productColumns(schema))
    .from(products)
    .innerJoin(inventoryLevels, eq(inventoryLevels.productId, products.id))
    .where(and(...conditions))
    .orderBy(asc(products.id))
    .limit(filter.limit);
}

export type NewProduct = { id: string; sku: string; name: string; description: string; price: string; lowStockThreshold?: number | null };

export async function insertProduct(tx: DbOrTx, product: NewProduct, initialStock: number): Promise<void> {
  // Written out rather than `tx.insert(products)`: drizzle names every column of the table, and
  // `low_stock_threshold` does not exist before migration 0004.
  const threshold = product.lowStockThreshold === undefined ? sql`` : sql`, low_stock_threshold`;
  const thresholdValue = product.lowStockThreshold === undefined ? sql`` : sql`, ${product.lowStockThreshold}::int`;
  await tx.execute(sql`
    INSERT INTO products (id, sku, name, description, price${threshold})
    VALUES (${product.id}, ${product.sku}, ${product.name}, ${product.description}, ${product.price}${thresholdValue})`);
  await tx.insert(inventoryLevels).values({ productId: product.id, onHand: initialStock, reserved: 0 });
  if (initialStock > 0) {
    await tx.insert(stockMovements).values({ productId: product.id, delta: initialStock, reason: 'initial', onHandAfter: initialStock });
  }
}

export async function updateProduct(tx: DbOrTx, id: string, patch: Partial<Pick<NewProduct, 'name' | 'description' | 'price' | 'lowStockThreshold'>>) {
  const rows = await tx
    .update(products)
    .set({ ...patch, updatedAt: sql`now()` })
    .where(eq(products.id, id))
    .returning({ id: products.id });
  return rows.length > 0;
}

/** Locks the product row against concurrent changes of the catalog. */
export async function lockProductRow(tx: DbOrTx, id: string) {
  const [row] = await tx.select({ id: products.id, archivedAt: products.archivedAt }).from(products).where(eq(products.id, id)).for('update');
  return row;
}

export async function archiveProduct(tx: DbOrTx, id: string) {
  await tx
    .update(products)
    .set({ archivedAt: sql`coalesce(${products.archivedAt}, now())`, updatedAt: sql`now()` })
    .where(eq(products.id, id));
}

export async function deleteProduct(tx: DbOrTx, id: string) {
  await tx.delete(products).where(eq(products.id, id));
}

export async function replaceProductCategories(tx: DbOrTx, productId: string, categoryIds: string[]) {
  await tx.delete(productCategories).where(eq(productCategories.productId, productId));
  if (categoryIds.length > 0) await tx.insert(productCategories).values(categoryIds.map((categoryId) => ({ productId, categoryId })));
  await tx.update(products).set({ updatedAt: sql`now()` }).where(eq(products.id, productId));
}

/**
 * Serialises with the stock engine (same advisory lock as every stock writer, and order intake,
 * which reads the product's price under it): no order can be placed for it meanwhile.
 */
export async function lockProductStock(tx: DbOrTx, id: string): Promise<{ reserved: number; ordersPlaced: number } | undefined> {
  await tx.execute(sql`SELECT pg_advisory_xact_lock(${productLockKey(id).toString()}::bigint)`);
  const [row] = await tx
    .select({ reserved: inventoryLevels.reserved, ordersPlaced: inventoryLevels.ordersPlaced })
    .from(inventoryLevels)
    .where(eq(inventoryLevels.productId, id));
  return row;
}
