import { iso, PgCode, pgCode, type Sql } from '../../db/client.ts';
import { conflict, notFound } from '../../lib/errors.ts';
import { decodeCursor, isUuid, pageOf } from '../../lib/paging.ts';
import type { Capabilities } from '../capabilities.ts';
import type { Category } from './categories.models.ts';
import * as q from './categories.queries.ts';

const toCategory = (row: q.CategoryRow): Category => ({ id: row.id, name: row.name, createdAt: iso(row.createdAt) });
const isNameIdKey = (key: unknown[]): key is [string, string] => key.length === 2 && typeof key[0] === 'string' && isUuid(key[1]);

export class CategoriesService {
  constructor(
    private readonly sql: Sql,
    private readonly capabilities: Capabilities,
  ) {}

  async get(id: string): Promise<Category> {
    this.capabilities.require('categories');
    const row = await q.findCategory(this.sql, id);
    if (!row) throw notFound(`category ${id}`);
    return toCategory(row);
  }

  async list(query: { limit?: number; cursor?: string }) {
    this.capabilities.require('categories');
    const limit = query.limit ?? 50;
    const rows = await q.listCategories(this.sql, decodeCursor(query.cursor, isNameIdKey), limit + 1);
    return pageOf(rows, limit, toCategory, (row) => [row.name.toLowerCase(), row.id]);
  }

  async create(name: string): Promise<Category> {
    this.capabilities.require('categories');
    return toCategory(await this.uniqueName(name, () => q.insertCategory(this.sql, Bun.randomUUIDv7(), name)));
  }

  async rename(id: string, name: string): Promise<Category> {
    this.capabilities.require('categories');
    const row = await this.uniqueName(name, () => q.renameCategory(this.sql, id, name));
    if (!row) throw notFound(`category ${id}`);
    return toCategory(row);
  }

  /** Products lose the category (the join rows cascade); nothing else changes. */
  async remove(id: string): Promise<void> {
    this.capabilities.require('categories');
    if (!(await q.deleteCategory(this.sql, id))) throw notFound(`category ${id}`);
  }

  private async uniqueName<T>(name: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (pgCode(error) === PgCode.uniqueViolation) throw conflict(`a category named "${name}" already exists`);
      throw error;
    }
  }
}
