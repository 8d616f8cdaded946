import { Cron } from 'croner';
import { toError } from '../http/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Job, JobCounts } from './job.ts';

/**
 * Runs each job on its schedule with croner. A run that is still going when the next tick comes
 * makes that tick skip (`protect`), so a job never overlaps itself.
 */
export class Scheduler {
  private readonly crons: Cron[] = [];
  private readonly running = new Set<Promise<unknown>>();
  /** Observers for metrics and tests. */
  onRun: (job: string, counts: JobCounts | Error, seconds: number) => void = () => {};

  constructor(
    private readonly jobs: Job[],
    private readonly logger: Logger,
  ) {}

  start() {
    for (const job of this.jobs) {
      this.crons.push(
        new Cron(job.schedule, { protect: true }, async () => {
          await this.runNow(job).catch(() => {}); // logged in runNow; the next tick tries again
        }),
      );
    }
  }

  /** Runs a job once, now (also used by tests and manual triggers). */
  async runNow(job: Job, asOf?: Date): Promise<JobCounts> {
    const started = performance.now();
    const run = job.run(asOf);
    this.running.add(run);
    try {
      const counts = await run;
      this.onRun(job.name, counts, (performance.now() - started) / 1000);
      if (Object.values(counts).some((n) => n > 0)) this.logger.info({ job: job.name, ...counts }, 'job ran');
      return counts;
    } catch (error) {
      const err = toError(error);
      this.onRun(job.name, err, (performance.now() - started) / 1000);
      this.logger.error({ err, job: job.name }, 'job failed');
      throw err;
    } finally {
      this.running.delete(run);
    }
  }

  job(name: string): Job | undefined {
    return this.jobs.find((j) => j.name === name);
  }

  /** Stops the timers and waits for runs under way. */
  async stop(): Promise<void> {
    for (const cron of this.crons.splice(0)) cron.stop();
    await Promise.allSettled([...this.running]);
  }
}
