import { sql } from 'drizzle-orm';
import { text, timestamp, uniqueIndex, type AnyPgColumn } from 'drizzle-orm/pg-core';

/** The timestamps every table keeps, as text (see `iso` in src/db/client.ts). */
export const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow();
export const updatedAt = () => timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow();

/**
 * The Idempotency-Key a row was made under: the credential it belongs to (its scope, as for
 * orders), the key, and the hash of the request, to tell a replay from another request.
 */
export const idempotencyColumns = () => ({
  idempotencyScope: text('idempotency_scope'),
  idempotencyKey: text('idempotency_key'),
  requestHash: text('request_hash'),
});

/** One row per key in a scope (rows made without a key have none). */
export const idempotencyIndex = (name: string, t: { idempotencyScope: AnyPgColumn; idempotencyKey: AnyPgColumn }) =>
  uniqueIndex(name).on(t.idempotencyScope, t.idempotencyKey).where(sql`${t.idempotencyKey} IS NOT NULL`);
