import { iso, PgCode, pgCode, pgConstraint, type Executor, type Sql } from '../../db/client.ts';
import { AppError, conflict, notFound } from '../../lib/errors.ts';
import { decodeCursor, isUuidKey, pageOf } from '../../lib/paging.ts';
import { normalizeMoney } from '../../lib/money.ts';
import { existingCategoryIds } from '../categories/categories.queries.ts';
import type { Capabilities } from '../capabilities.ts';
import type { Product, ProductCreate, ProductListQuery, ProductPatch } from './products.models.ts';
import * as q from './products.queries.ts';

export function toProduct(row: q.ProductRow): Product {
  return {
    id: row.id,
    sku: row.sku,
    name: row.name,
    description: row.description,
    price: row.price,
    archived: row.archivedAt !== null,
    categories: row.categories,
    inventory: { onHand: row.onHand, reserved: row.reserved, held: row.held, available: row.onHand - row.reserved },
    lowStockThreshold: row.lowStockThreshold,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

export class ProductsService {
  constructor(
    private readonly sql: Sql,
    private readonly capabilities: Capabilities,
  ) {}

  async get(id: string): Promise<Product> {
    const row = await q.findProduct(this.sql, id, this.capabilities);
    if (!row) throw notFound(`product ${id}`);
    return toProduct(row);
  }

  async list(query: ProductListQuery): Promise<{ items: Product[]; nextCursor: string | null }> {
    const limit = query.limit ?? 50;
    const after = decodeCursor(query.cursor, isUuidKey);
    if (query.categoryId) this.capabilities.require('categories');
    if (query.lowStock) this.capabilities.require('webhooks');
    const rows = await q.listProducts(
      this.sql,
      { q: query.q, categoryId: query.categoryId, includeArchived: query.includeArchived, lowStock: query.lowStock, afterId: after?.[0], limit: limit + 1 },
      this.capabilities,
    );
    return pageOf(rows, limit, toProduct, (row) => [row.id]);
  }

  async create(input: ProductCreate): Promise<Product> {
    const id = Bun.randomUUIDv7();
    const categoryIds = input.categoryIds ?? [];
    if (categoryIds.length > 0) this.capabilities.require('categories');
    if (input.lowStockThreshold !== undefined) this.capabilities.require('webhooks');
    try {
      await this.sql.begin(async (tx) => {
        await q.insertProduct(
          tx,
          { id, sku: input.sku, name: input.name, description: input.description ?? '', price: normalizeMoney(input.price), lowStockThreshold: input.lowStockThreshold },
          input.initialStock ?? 0,
        );
        if (categoryIds.length > 0) {
          await requireCategories(tx, categoryIds);
          await q.replaceProductCategories(tx, id, categoryIds);
        }
      });
    } catch (error) {
      if (pgCode(error) === PgCode.uniqueViolation && pgConstraint(error) === 'products_sku_lower_key') {
        throw conflict(`SKU "${input.sku}" is already used (SKUs are unique regardless of case)`);
      }
      throw error;
    }
    return this.get(id);
  }

  async update(id: string, patch: ProductPatch): Promise<Product> {
    if (patch.lowStockThreshold !== undefined) this.capabilities.require('webhooks');
    const changes = { ...patch, ...(patch.price === undefined ? {} : { price: normalizeMoney(patch.price) }) };
    if (!(await q.updateProduct(this.sql, id, changes))) throw notFound(`product ${id}`);
    return this.get(id);
  }

  /**
   * Erases a product nobody refers to. One that orders refer to is archived instead (hidden from
   * the catalog, refused for new orders, still readable for its orders). Stock held by open
   * orders makes it a conflict: those orders must end first.
   */
  async remove(id: string): Promise<'deleted' | 'archived'> {
    return this.sql.begin(async (tx) => {
      // Stock lock first, then the row: a stock batch holding the lock never waits for this row.
      const level = await q.lockProductStock(tx, id);
      if (!(await q.lockProductRow(tx, id))) throw notFound(`product ${id}`);
      if (level && level.reserved > 0) {
        throw conflict(`${level.reserved} units of this product are reserved by open orders or holds`, { reserved: level.reserved });
      }
      if (level && level.ordersPlaced > 0) {
        await q.archiveProduct(tx, id);
        return 'archived';
      }
      await q.deleteProduct(tx, id);
      return 'deleted';
    });
  }

  async setCategories(id: string, categoryIds: string[]): Promise<Product> {
    this.capabilities.require('categories');
    await this.sql.begin(async (tx) => {
      if (!(await q.lockProductRow(tx, id))) throw notFound(`product ${id}`);
      await requireCategories(tx, categoryIds);
      await q.replaceProductCategories(tx, id, categoryIds);
    });
    return this.get(id);
  }
}

async function requireCategories(tx: Executor, ids: string[]) {
  const found = await existingCategoryIds(tx, ids);
  const missing = ids.map((id, i) => ({ id, i })).filter(({ id }) => !found.has(id));
  if (missing.length > 0) {
    throw new AppError(
      'validation',
      `unknown category ${missing.map((m) => m.id).join(', ')}`,
      missing.map(({ i }) => ({ path: `body.categoryIds[${i}]`, message: 'is not an existing category' })),
    );
  }
}
