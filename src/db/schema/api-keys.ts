import { sql } from 'drizzle-orm';
import { bigint, check, index, pgSequence, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

/**
 * Every change that matters to authentication (a key created, a key revoked) takes the next value
 * of this sequence, under an advisory lock held to commit: revisions become visible in order, so a
 * process that has seen revision n has seen every change up to n (see api-keys.queries.ts).
 */
export const apiKeysRevision = pgSequence('api_keys_revision_seq');

/** API keys: only a SHA-256 of the key is kept; the key itself is shown once, at creation. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    role: text('role').notNull(),
    /** The start of the key (`sr_live_` and a few characters), to recognise it in a list or a leak. */
    prefix: text('prefix').notNull(),
    hash: text('hash').notNull(),
    revision: bigint('revision', { mode: 'number' }).notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'string' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'string' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('api_keys_hash_key').on(t.hash),
    index('api_keys_revision_idx').on(t.revision),
    check('api_keys_role_known', sql`${t.role} IN ('admin', 'storefront', 'warehouse', 'read-only')`),
  ],
);
