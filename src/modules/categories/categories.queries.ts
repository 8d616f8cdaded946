import type { Executor } from '../../db/client.ts';

export type CategoryRow = { id: string; name: string; createdAt: string };

export async function findCategory(sql: Executor, id: string): Promise<CategoryRow | undefined> {
  const [row] = await sql<CategoryRow[]>`SELECT id, name, created_at AS "createdAt" FROM categories WHERE id = ${id}`;
  return row;
}

/** Sorted by name (case-insensitive), then id; the cursor is the last row's pair. */
export function listCategories(sql: Executor, after: [string, string] | undefined, limit: number) {
  return sql<CategoryRow[]>`
    SELECT id, name, created_at AS "createdAt" FROM categories
    ${after ? sql`WHERE (lower(name), id) > (${after[0]}, ${after[1]}::uuid)` : sql``}
    ORDER BY lower(name), id LIMIT ${limit}`;
}

export async function insertCategory(sql: Executor, id: string, name: string): Promise<CategoryRow> {
  const [row] = await sql<CategoryRow[]>`INSERT INTO categories (id, name) VALUES (${id}, ${name}) RETURNING id, name, created_at AS "createdAt"`;
  return row!;
}

export async function renameCategory(sql: Executor, id: string, name: string): Promise<CategoryRow | undefined> {
  const [row] = await sql<CategoryRow[]>`UPDATE categories SET name = ${name} WHERE id = ${id} RETURNING id, name, created_at AS "createdAt"`;
  return row;
}

export async function deleteCategory(sql: Executor, id: string): Promise<boolean> {
  return (await sql`DELETE FROM categories WHERE id = ${id} RETURNING 1`).length > 0;
}

/** Locks the categories (KEY SHARE) so they cannot vanish before the caller's transaction commits. */
export async function existingCategoryIds(sql: Executor, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await sql<{ id: string }[]>`SELECT id FROM categories WHERE id = ANY(${ids}::uuid[]) FOR KEY SHARE`;
  return new Set(rows.map((r) => r.id));
}
