/** Time and randomness behind an interface, so timing behaviour is tested without sleeping. */
export type Clock = {
  now(): number;
  random(): number;
};

export const systemClock: Clock = { now: () => Date.now(), random: Math.random };

/**
 * The one backoff formula of the service: exponential from `baseMs`, capped at `maxMs`, with "equal
 * jitter" (half fixed, half random) so that retries spread out but never come sooner than half the
 * nominal delay.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const nominal = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(nominal / 2 + (nominal / 2) * random());
}
