import type { Executor, Sql } from '../../db/client.ts';
import type { ApiKeyRole } from './roles.ts';

export type ApiKeyRow = { id: string; name: string; role: ApiKeyRole; prefix: string; lastUsedAt: string | null; createdAt: string };
/** What a process keeps in memory to recognise a key: no secret, only its hash. */
export type KeyChange = { id: string; name: string; role: ApiKeyRole; hash: string; revision: number; revoked: boolean };

/** ("STK", 2): writers of api_keys take revisions one at a time, so they commit in revision order. */
const REVISION_LOCK = [0x53_54_4b, 2] as const;

const columns = (sql: Executor) =>
  sql`id, name, role, prefix, last_used_at::text AS "lastUsedAt", created_at::text AS "createdAt"`;

export async function insertKey(sql: Sql, key: { id: string; name: string; role: ApiKeyRole; prefix: string; hash: string }): Promise<ApiKeyRow> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${REVISION_LOCK[0]}, ${REVISION_LOCK[1]})`;
    const [row] = await tx<ApiKeyRow[]>`
      INSERT INTO api_keys (id, name, role, prefix, hash, revision)
      VALUES (${key.id}, ${key.name}, ${key.role}, ${key.prefix}, ${key.hash}, nextval('api_keys_revision_seq'))
      RETURNING ${columns(tx)}`;
    return row!;
  });
}

/** Revokes a key: `revoked` (with its hash, to forget it at once), `already` revoked, or `missing`. */
export async function revokeKey(sql: Sql, id: string): Promise<{ outcome: 'revoked'; hash: string } | { outcome: 'already' | 'missing' }> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${REVISION_LOCK[0]}, ${REVISION_LOCK[1]})`;
    const [row] = await tx<{ hash: string }[]>`
      UPDATE api_keys SET revoked_at = now(), revision = nextval('api_keys_revision_seq')
      WHERE id = ${id} AND revoked_at IS NULL RETURNING hash`;
    if (row) return { outcome: 'revoked' as const, hash: row.hash };
    const [known] = await tx`SELECT 1 FROM api_keys WHERE id = ${id}`;
    return { outcome: known ? ('already' as const) : ('missing' as const) };
  });
}

/** Active keys, newest first; the cursor is the last id (ids are UUIDv7, so time-ordered). */
export function listKeys(sql: Executor, beforeId: string | undefined, limit: number) {
  return sql<ApiKeyRow[]>`
    SELECT ${columns(sql)} FROM api_keys
    WHERE revoked_at IS NULL ${beforeId ? sql`AND id < ${beforeId}` : sql``}
    ORDER BY id DESC LIMIT ${limit}`;
}

/**
 * Every key created or revoked after `revision`, in order. Writers take their revision under
 * REVISION_LOCK and hold it until commit, so when revision n is visible every earlier one is too:
 * reading from the highest revision seen never skips a change.
 */
export function keysChangedSince(sql: Executor, revision: number) {
  return sql<KeyChange[]>`
    SELECT id, name, role, hash, revision::float8 AS revision, revoked_at IS NOT NULL AS revoked
    FROM api_keys WHERE revision > ${revision} ORDER BY revision`;
}

/** At most one write per key and minute, whichever process records it. */
export async function recordLastUsed(sql: Executor, ids: string[]): Promise<void> {
  await sql`
    UPDATE api_keys SET last_used_at = now()
    WHERE id = ANY(${ids}::uuid[]) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`;
}
