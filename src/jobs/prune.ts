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

/** Outbox events past their retention (streams resume within it) and old schedule-slot records. */
export const outboxPruneJob = (sql: Sql, options: { schedule: string; eventsOlderThanMs: number; jobRunsOlderThanMs: number; limit: number }): Job => ({
  name: 'outbox-prune',
  schedule: options.schedule,
  run: async (asOf) => ({
    events: await pruneEvents(sql, { olderThanMs: options.eventsOlderThanMs, limit: options.limit, asOf }),
    jobRuns: await pruneJobRuns(sql, { olderThanMs: options.jobRunsOlderThanMs, limit: options.limit, asOf }),
  }),
});
