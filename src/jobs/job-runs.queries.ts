import { at, type Executor } from '../db/client.ts';
import type { JobCounts } from './job.ts';

/** Claims a schedule slot: the first process to insert it runs it; the others skip it. */
export async function claimSlot(sql: Executor, job: string, slot: Date, node: string): Promise<boolean> {
  const rows = await sql`
    INSERT INTO job_runs (job, slot, node) VALUES (${job}, ${slot.toISOString()}::timestamptz, ${node})
    ON CONFLICT (job, slot) DO NOTHING RETURNING 1`;
  return rows.length > 0;
}

export async function finishSlot(sql: Executor, job: string, slot: Date, result: JobCounts | { error: string }) {
  await sql`
    UPDATE job_runs SET finished_at = now(), result = ${JSON.stringify(result)}::jsonb
    WHERE job = ${job} AND slot = ${slot.toISOString()}::timestamptz`;
}

/** Slot records are bookkeeping: keep a day of them. */
export async function pruneJobRuns(sql: Executor, options: { olderThanMs: number; limit: number; asOf?: Date }): Promise<number> {
  const rows = await sql`
    DELETE FROM job_runs WHERE (job, slot) IN (
      SELECT job, slot FROM job_runs WHERE slot < ${at(sql, options.asOf)} - ${options.olderThanMs} * interval '1 millisecond'
      ORDER BY slot LIMIT ${options.limit})
    RETURNING 1`;
  return rows.length;
}

