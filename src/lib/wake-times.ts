/**
 * The moments something falls due, on one timer: it is set for the earliest, and when it fires the
 * next one is set. Moments are rounded up to `granularityMs`, so many retries due at nearly the
 * same time cost one entry and one wake-up.
 */
export class WakeTimes {
  /** Ascending, no duplicates. */
  private readonly times: number[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  private stopped = false;

  constructor(
    private readonly onDue: () => void,
    private readonly now: () => number,
    private readonly granularityMs = 50,
    /** Fire this long after the moment (the database clock may be a little behind ours). */
    private readonly slackMs = 0,
  ) {}

  get size(): number {
    return this.times.length;
  }

  add(at: number) {
    if (this.stopped) return;
    const moment = Math.ceil(at / this.granularityMs) * this.granularityMs;
    const index = this.firstNotBefore(moment);
    if (this.times[index] !== moment) this.times.splice(index, 0, moment);
    this.arm();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.times.length = 0;
  }

  private arm() {
    const next = this.times[0];
    if (next === undefined || next >= this.armedFor) return;
    clearTimeout(this.timer);
    this.armedFor = next;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next - this.now()) + this.slackMs);
  }

  private fire() {
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.now();
    this.times.splice(0, this.firstNotBefore(now + 1));
    this.onDue();
    this.arm();
  }

  private firstNotBefore(moment: number): number {
    let low = 0;
    let high = this.times.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.times[middle]! < moment) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
