import type { Sql } from '../db/client.ts';
import { pruneEvents } from '../modules/events/events.queries.ts';
import { pruneIdempotencyKeys } from '../modules/orders/work.queries.ts';
import type { Job } from './job.ts';
import { pruneJobRuns } from './job-runs.queries.ts';

/** Idempotency keys older than their 24 hours (a capped batch per run). */
export const idempotencyPruneJob = (sql: Sql, options: { schedule: string; olderThanMs: number; limit: number }): Job => ({
  name: 'idempotency-prune',
  schedule: options.schedule,
  run: async (asOf) => ({ deleted: await pruneIdempotencyKeys(sql, { ...options, asOf }) }),
});

export type OutboxPruneOptions = {
  schedule: string;
  eventsOlderThanMs: number;
  /** Events a webhook subscription has not taken yet are kept up to this age (undefined: no subscriptions to wait for). */
  webhookHoldMaxMs: number | undefined;
  jobRunsOlderThanMs: number;
  limit: number;
};

/**
 * Outbox events past their retention (streams resume within it), except those a webhook
 * subscription has not taken yet, which stay up to `webhookHoldMaxMs`; and old schedule-slot records.
 */
export const outboxPruneJob = (sql: Sql, options: OutboxPruneOptions): Job => ({
  name: 'outbox-prune',
  schedule: options.schedule,
  run: async (asOf) => ({
    events: await pruneEvents(sql, { olderThanMs: options.eventsOlderThanMs, holdMaxMs: options.webhookHoldMaxMs, limit: options.limit, asOf }),
    jobRuns: await pruneJobRuns(sql, { olderThanMs: options.jobRunsOlderThanMs, limit: options.limit, asOf }),
  }),
});
