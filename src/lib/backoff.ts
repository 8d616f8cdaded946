/** A retry schedule: the longest first wait, and the cap every later one stays under. */
export type Backoff = { baseMs: number; maxMs: number };

/**
 * The service's one backoff formula (DESIGN.md, graphile-worker's single formula): after failed
 * attempt `attempt` (1, 2, …) wait a uniformly random time up to `baseMs × 2^(attempt − 1)`, capped
 * at `maxMs` ("full jitter"). Many callers that failed together (a database back after an outage,
 * a hot product's orders short of stock) spread over the whole window instead of coming back in
 * step.
 */
export function backoffMs(attempt: number, { baseMs, maxMs }: Backoff, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1)));
}
