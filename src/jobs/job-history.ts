import type { Sql } from '../db/client.ts';
import type { Job } from './job.ts';
import { pruneJobRuns } from './job-runs.queries.ts';

/** Slot records deleted per run: the next run (10 minutes later) takes the rest. */
const PRUNE_LIMIT = 10_000;

/** The scheduler's own bookkeeping: slot records older than JOB_HISTORY_RETENTION_MS. */
export const jobHistoryPruneJob = (sql: Sql, options: { schedule: string; olderThanMs: number }): Job => ({
  name: 'job-history-prune',
  schedule: options.schedule,
  run: async (asOf) => ({ deleted: await pruneJobRuns(sql, { olderThanMs: options.olderThanMs, limit: PRUNE_LIMIT, asOf }) }),
});
