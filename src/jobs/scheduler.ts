import { Cron } from 'croner';
import type { Sql } from '../db/client.ts';
import { toError } from '../http/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Job, JobCounts } from './job.ts';
import { claimSlot, finishSlot } from './job-runs.queries.ts';

export type RunOutcome = { job: string; slot: Date; status: 'ran' | 'skipped' | 'failed'; counts?: JobCounts; error?: string };

/** Advisory-lock namespace of the scheduler ("JOB"), with one key per job name. */
const LOCK_NAMESPACE = 0x4a4f42;
const jobKey = (name: string) => {
  let hash = 0;
  for (const char of name) hash = (Math.imul(hash, 31) + char.charCodeAt(0)) | 0;
  return hash;
};

/**
 * Runs each job on its croner schedule. Several processes may share the database:
 * - a slot (the scheduled time of a tick) runs once in the cluster: the process that inserts the
 *   `job_runs` row for it runs it, the others skip it;
 * - a job never overlaps itself: a run holds the job's advisory lock (a session lock, so a crashed
 *   process lets go of it with its connection), and a tick that finds it taken skips.
 */
export class Scheduler {
  private readonly crons: Cron[] = [];
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;
  /** Observer for metrics. */
  onRun: (outcome: RunOutcome, seconds: number) => void = () => {};

  constructor(
    private readonly sql: Sql,
    private readonly jobs: Job[],
    private readonly options: { node: string; logger: Logger; now: () => number },
  ) {}

  start() {
    for (const job of this.jobs) {
      const cron = new Cron(job.schedule, { protect: true }, async () => {
        await this.tick(job.name, new Date(this.options.now()));
      });
      this.crons.push(cron);
    }
  }

  /** The slot a tick at `at` belongs to: the latest scheduled time not after it. */
  slotOf(name: string, at: Date): Date {
    const job = this.job(name);
    const [slot] = new Cron(job.schedule, { paused: true }).previousRuns(1, new Date(at.getTime() + 1));
    return slot ?? at;
  }

  /**
   * One tick of a job at `at` (process clock, used only to name the slot): claim the slot, take
   * the job's lock, run it, record the result. `asOf` is injected by tests; otherwise the job
   * compares with the database clock.
   */
  async tick(name: string, at: Date, asOf?: Date): Promise<RunOutcome> {
    const job = this.job(name);
    const slot = this.slotOf(name, at);
    if (this.stopped) return { job: name, slot, status: 'skipped' };
    const run = this.runSlot(job, slot, asOf);
    this.running.add(run);
    try {
      return await run;
    } finally {
      this.running.delete(run);
    }
  }

  private async runSlot(job: Job, slot: Date, asOf: Date | undefined): Promise<RunOutcome> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    let connection: Awaited<ReturnType<Sql['reserve']>> | undefined;
    try {
      connection = await this.sql.reserve();
      const [lock] = await connection<{ locked: boolean }[]>`SELECT pg_try_advisory_lock(${LOCK_NAMESPACE}, ${jobKey(job.name)}) AS locked`;
      if (!lock?.locked || !(await claimSlot(connection, job.name, slot, this.options.node))) {
        const outcome: RunOutcome = { job: job.name, slot, status: 'skipped' };
        this.onRun(outcome, seconds());
        return outcome;
      }
      try {
        const counts = await job.run(asOf);
        await finishSlot(connection, job.name, slot, counts);
        if (Object.values(counts).some((n) => n > 0)) this.options.logger.info({ job: job.name, slot, ...counts }, 'job ran');
        const outcome: RunOutcome = { job: job.name, slot, status: 'ran', counts };
        this.onRun(outcome, seconds());
        return outcome;
      } catch (error) {
        const err = toError(error);
        await finishSlot(connection, job.name, slot, { error: err.message }).catch(() => {});
        this.options.logger.error({ err, job: job.name, slot }, 'job failed');
        const outcome: RunOutcome = { job: job.name, slot, status: 'failed', error: err.message };
        this.onRun(outcome, seconds());
        return outcome;
      } finally {
        await connection`SELECT pg_advisory_unlock(${LOCK_NAMESPACE}, ${jobKey(job.name)})`.catch(() => {});
      }
    } catch (error) {
      // The database is unreachable: the next tick tries again.
      this.options.logger.warn({ err: toError(error), job: job.name }, 'job tick could not reach the database');
      return { job: job.name, slot, status: 'failed', error: toError(error).message };
    } finally {
      connection?.release();
    }
  }

  job(name: string): Job {
    const job = this.jobs.find((j) => j.name === name);
    if (!job) throw new Error(`unknown job ${name}`);
    return job;
  }

  /** Stops the timers and waits for runs under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const cron of this.crons.splice(0)) cron.stop();
    await Promise.allSettled([...this.running]);
  }
}
