/**
 * A periodic job: a name, a cron schedule (seconds field allowed), and a `run` that handles one
 * capped batch and returns what it did as counts. `asOf` is "now" for the run: undefined means the
 * database clock (`now()`); tests inject a time instead of waiting for it.
 */
export type JobCounts = Record<string, number>;

export type Job = {
  name: string;
  schedule: string;
  /** How long a tick waits for this job's run (default: the scheduler's). */
  timeoutMs?: number;
  run(asOf?: Date): Promise<JobCounts>;
};
