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
  categories: { id: string; name: string }[];
};

/**
 * `withCategories` is false while the schema predates migration 0001 (see README, expand/contract):
 * the same code then serves products without touching the tables that do not exist yet.
 */
function productColumns(withCategories: boolean) {
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
    categories: withCategories
      ? sql<ProductRow['categories']>`coalesce((
          SELECT json_agg(json_build_object('id', c.id, 'name', c.name) ORDER BY lower(c.name))
          FROM ${productCategories} pc JOIN ${categories} c ON c.id = pc.category_id
          WHERE pc.product_id = ${products.id}), '[]'::json)`
      : sql<ProductRow['categories']>`'[]'::json`,
  };
}

export async function findProduct(db: DbOrTx, id: string, withCategories: boolean): Promise<ProductRow | undefined> {
  const [row] = await db
    .select(productColumns(withCategories))
    .from(products)
    .innerJoin(inventoryLevels, eq(inventoryLevels.productId, products.id))
    .where(eq(products.id, id));
  return row;
}

export type ProductFilter = { q?: string; categoryId?: string; includeArchived?: boolean; afterId?: string; limit: number };

const escapeLike = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);

export function listProducts(db: DbOrTx, filter: ProductFilter, withCategories: boolean): Promise<ProductRow[]> {
  const conditions: (SQL | undefined)[] = [];
  if (!filter.includeArchived) conditions.push(isNull(products.archivedAt));
  if (filter.afterId) conditions.push(gt(products.id, filter.afterId));
  if (filter.q) {
    const pattern = `%${escapeLike(filter.q)}%`;
    conditions.push(or(ilike(products.name, pattern), ilike(products.sku, pattern)));
  }
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
    .select(productColumns(withCategories))
    .from(products)
    .innerJoin(inventoryLevels, eq(inventoryLevels.productId, products.id))
    .where(and(...conditions))
    .orderBy(asc(products.id))
    .limit(filter.limit);
}

export type NewProduct = { id: string; sku: string; name: string; description: string; price: string };

export async function insertProduct(tx: DbOrTx, product: NewProduct, initialStock: number): Promise<void> {
  await tx.insert(products).values(product);
  await tx.insert(inventoryLevels).values({ productId: product.id, onHand: initialStock, reserved: 0 });
  if (initialStock > 0) {
    await tx.insert(stockMovements).values({ productId: product.id, delta: initialStock, reason: 'initial', onHandAfter: initialStock });
  }
}

export async function updateProduct(tx: DbOrTx, id: string, patch: Partial<Pick<NewProduct, 'name' | 'description' | 'price'>>) {
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
