import { and, asc, eq, gt, inArray, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.ts';
import { categories } from '../../db/schema/index.ts';

export type CategoryRow = { id: string; name: string; createdAt: string };
const columns = { id: categories.id, name: categories.name, createdAt: categories.createdAt };

export async function findCategory(db: DbOrTx, id: string): Promise<CategoryRow | undefined> {
  const [row] = await db.select(columns).from(categories).where(eq(categories.id, id));
  return row;
}

/** Sorted by name (case-insensitive), then id; the cursor is the last row's pair. */
export function listCategories(db: DbOrTx, after: [string, string] | undefined, limit: number): Promise<CategoryRow[]> {
  const lowerName = sql`lower(${categories.name})`;
  const where = after
    ? or(gt(lowerName, after[0]), and(eq(lowerName, after[0]), gt(categories.id, after[1])))
    : undefined;
  return db.select(columns).from(categories).where(where).orderBy(asc(lowerName), asc(categories.id)).limit(limit);
}

export async function insertCategory(db: DbOrTx, id: string, name: string): Promise<CategoryRow> {
  const [row] = await db.insert(categories).values({ id, name }).returning(columns);
  return row!;
}

export async function renameCategory(db: DbOrTx, id: string, name: string): Promise<CategoryRow | undefined> {
  const [row] = await db.update(categories).set({ name }).where(eq(categories.id, id)).returning(columns);
  return row;
}

export async function deleteCategory(db: DbOrTx, id: string): Promise<boolean> {
  const rows = await db.delete(categories).where(eq(categories.id, id)).returning({ id: categories.id });
  return rows.length > 0;
}

/** Locks the categories (KEY SHARE) so they cannot vanish before the caller's transaction commits. */
export async function existingCategoryIds(db: DbOrTx, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.select({ id: categories.id }).from(categories).where(inArray(categories.id, ids)).for('key share');
  return new Set(rows.map((r) => r.id));
}
