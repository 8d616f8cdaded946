import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { createdAt, updatedAt } from './columns.ts';
import { xid8 } from './ops.ts';

const time = (name: string) => timestamp(name, { withTimezone: true, mode: 'string' });

/**
 * Webhook subscriptions (migration 0004). `cursor_*` is the outbox position up to which this
 * subscription's deliveries have been written (the event `<tx>-<row>-<index>`): a restart, or
 * another process, carries on from there. The secret signs deliveries; during 24 h after a
 * rotation the previous one signs them too.
 */
export const webhooks = pgTable('webhooks', {
  id: uuid('id').primaryKey(),
  url: text('url').notNull(),
  events: text('events').array().notNull(),
  description: text('description').notNull().default(''),
  enabled: boolean('enabled').notNull().default(true),
  disabledReason: text('disabled_reason'),
  secret: text('secret').notNull(),
  previousSecret: text('previous_secret'),
  previousSecretUntil: time('previous_secret_until'),
  cursorTx: xid8('cursor_tx').notNull(),
  cursorRow: bigint('cursor_row', { mode: 'number' }).notNull(),
  cursorIndex: integer('cursor_index').notNull(),
  /** The first failure since the last success; 24 h of that disables the subscription. */
  failingSince: time('failing_since'),
  lastSuccessAt: time('last_success_at'),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * One event to send to one subscription, and the log of its attempts. The body is written once,
 * so every retry sends the same bytes. A pending delivery goes out only when no older pending one
 * of its subscription has the same `ordering_key` (the order or the product it is about).
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    /** The `webhook-id` header: the same on every retry and every redelivery of one event. */
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    orderingKey: text('ordering_key').notNull(),
    occurredAt: time('occurred_at').notNull(),
    body: text('body').notNull(),
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: time('next_attempt_at').notNull(),
    firstAttemptAt: time('first_attempt_at'),
    lastAttemptAt: time('last_attempt_at'),
    responseStatus: integer('response_status'),
    responseExcerpt: text('response_excerpt'),
    lastError: text('last_error'),
    /** Fencing token: a claim bumps it, and an outcome is recorded only under the claim it came from. */
    version: integer('version').notNull().default(0),
    leaseOwner: uuid('lease_owner'),
    leaseUntil: time('lease_until'),
    createdAt: createdAt(),
  },
  (t) => [
    check('webhook_deliveries_status_known', sql`${t.status} IN ('pending', 'succeeded', 'failed')`),
    index('webhook_deliveries_webhook_idx').on(t.webhookId, t.id),
    index('webhook_deliveries_pending_idx')
      .on(t.webhookId, t.id)
      .where(sql`${t.status} = 'pending'`),
    index('webhook_deliveries_pending_key_idx')
      .on(t.webhookId, t.orderingKey, t.id)
      .where(sql`${t.status} = 'pending'`),
  ],
);
