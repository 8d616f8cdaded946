import { Cron } from 'croner';
import type { Sql } from '../db/client.ts';
import { toError } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Job, JobCounts } from './job.ts';
import { claimSlot, finishSlot } from './job-runs.queries.ts';
import { JobLock, type JobLockOptions } from './job-lock.ts';
import { withDeadline } from '../lib/deadline.ts';

export type RunOutcome = { job: string; slot: Date; status: 'ran' | 'skipped' | 'failed'; counts?: JobCounts; error?: string };

/** What the scheduler reports (the service's metrics provide it). */
export type SchedulerMetrics = {
  jobRuns: { inc(labels: { job: string; status: RunOutcome['status'] }): void };
  jobItems: { inc(labels: { job: string; kind: string }, value: number): void };
};

export type SchedulerOptions = {
  node: string;
  metrics: SchedulerMetrics;
  logger: Logger;
  now: () => number;
  /** How long a tick waits for its run (a job may set its own `timeoutMs`). */
  jobTimeoutMs: number;
  /** Bound on taking a connection and the lock; the lock's keep-alive interval. */
  lock: JobLockOptions;
};

/**
 * Runs each job on its croner schedule. Several processes may share the database:
 * - a slot (the scheduled time of a tick) runs once in the cluster: the process that inserts the
 *   `job_runs` row for it runs it, the others skip it;
 * - a job never overlaps itself: a run holds the job's lock (`JobLock`), and a tick that finds it
 *   taken skips. The lock is let go on every path, and by the server when its holder freezes.
 * Every tick settles within the job's timeout, so croner's `protect` (no tick while the previous
 * one is running) can never stop a job for good; a run that outlives its tick keeps the lock
 * until it ends, up to twice the timeout.
 */
export class Scheduler {
  private readonly crons: Cron[] = [];
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    private readonly sql: Sql,
    private readonly jobs: Job[],
    private readonly options: SchedulerOptions,
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
   * One tick of a job at `at` (process clock, used only to name the slot): take the job's lock,
   * claim the slot, run it, record the result. `asOf` is injected by tests; otherwise the job
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
    const { metrics } = this.options;
    const done = (outcome: RunOutcome) => {
      metrics.jobRuns.inc({ job: outcome.job, status: outcome.status });
      for (const [kind, n] of Object.entries(outcome.counts ?? {})) metrics.jobItems.inc({ job: outcome.job, kind }, n);
      return outcome;
    };
    const timeoutMs = job.timeoutMs ?? this.options.jobTimeoutMs;
    let lock: JobLock | undefined;
    try {
      lock = await JobLock.take(this.sql, job.name, this.options.lock);
      if (!lock) return done({ job: job.name, slot, status: 'skipped' });
      if (!(await withDeadline(claimSlot(this.sql, job.name, slot, this.options.node), this.options.lock.acquireTimeoutMs, 'the slot claim'))) {
        return done({ job: job.name, slot, status: 'skipped' });
      }
      const run = job.run(asOf);
      const letGo = lock.holdUntil(run, timeoutMs * 2);
      lock = undefined; // from here on, the run's end lets go of it
      try {
        const counts = await withDeadline(run, timeoutMs, `job ${job.name}`);
        // The run is over: the tick is, once its lock is let go (a tick right after it may run).
        await letGo;
        await withDeadline(finishSlot(this.sql, job.name, slot, counts), this.options.lock.acquireTimeoutMs, 'recording the run');
        if (Object.values(counts).some((n) => n > 0)) this.options.logger.info({ job: job.name, slot, ...counts }, 'job ran');
        return done({ job: job.name, slot, status: 'ran', counts });
      } catch (error) {
        const err = toError(error);
        await withDeadline(finishSlot(this.sql, job.name, slot, { error: err.message }), this.options.lock.acquireTimeoutMs, 'recording the run').catch(() => {});
        this.options.logger.error({ err, job: job.name, slot }, 'job failed');
        return done({ job: job.name, slot, status: 'failed', error: err.message });
      }
    } catch (error) {
      // The database is unreachable or too slow: the next tick tries again.
      this.options.logger.warn({ err: toError(error), job: job.name }, 'job tick could not reach the database');
      return done({ job: job.name, slot, status: 'failed', error: toError(error).message });
    } finally {
      await lock?.release();
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
