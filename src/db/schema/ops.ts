import { sql } from 'drizzle-orm';
import { bigint, customType, index, integer, json, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.ts';

/** PostgreSQL's 64-bit transaction id (the outbox's `tx`, a subscription's cursor). */
export const xid8 = customType<{ data: string }>({ dataType: () => 'xid8' });

/**
 * Transactional outbox. Each row holds the changes of one committed transaction; `tx` lets the
 * reader hand out rows only once every transaction that could precede them has ended.
 */
export const events = pgTable(
  'events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    tx: xid8('tx').notNull().default(sql`pg_current_xact_id()`),
    /** An `EventRecord` (src/modules/events/records.ts); json keeps the text as written. */
    changes: json('changes').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('events_tx_id_idx').on(t.tx, t.id), index('events_created_idx').on(t.createdAt)],
);

/** One row per running process; leases held by an incarnation whose heartbeat stopped are void. */
export const nodes = pgTable('nodes', {
  incarnation: uuid('incarnation').primaryKey(),
  nodeId: text('node_id').notNull(),
  startedAt: timestamp('started_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  heartbeatAt: timestamp('heartbeat_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  /** The stock model the process speaks: 2 with locations (migration 0007); null: code from before it. */
  stockModel: integer('stock_model'),
});

export const syncRuns = pgTable(
  'sync_runs',
  {
    id: uuid('id').primaryKey(),
    status: text('status').notNull(),
    trigger: text('trigger').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'string' }),
    itemsChecked: integer('items_checked').notNull().default(0),
    itemsAdjusted: integer('items_adjusted').notNull().default(0),
    errors: jsonb('errors').notNull().default(sql`'[]'::jsonb`),
  },
  (t) => [index('sync_runs_started_idx').on(t.startedAt)],
);

/** A schedule slot is claimed by inserting its row: with several processes, one of them runs it. */
export const jobRuns = pgTable(
  'job_runs',
  {
    job: text('job').notNull(),
    slot: timestamp('slot', { withTimezone: true, mode: 'string' }).notNull(),
    node: uuid('node').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true, mode: 'string' }),
    result: jsonb('result'),
  },
  (t) => [primaryKey({ columns: [t.job, t.slot] })],
);
