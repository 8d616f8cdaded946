/**
 * Many deadlines of one length on one timer, instead of a `setTimeout` per request (two, with the
 * body's own deadline): entries of one length expire in the order they were added, so a tick only
 * looks at the oldest ones, and an entry costs a Set insert and delete. A deadline fires up to
 * `tickMs` late.
 */
export type Deadline = { readonly at: number; readonly onExpire: () => void };

export class DeadlineQueue {
  private readonly entries = new Set<Deadline>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    readonly ms: number,
    private readonly tickMs = Math.max(5, Math.min(100, Math.floor(ms / 20))),
    /** Monotonic milliseconds (tests replace it instead of sleeping). */
    private readonly now: () => number = () => performance.now(),
  ) {}

  add(onExpire: () => void): Deadline {
    const entry = { at: this.now() + this.ms, onExpire };
    this.entries.add(entry);
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.tickMs);
      this.timer.unref();
    }
    return entry;
  }

  remove(entry: Deadline) {
    this.entries.delete(entry);
  }

  /**
   * Fires what is due. Runs every `tickMs` (a test with its own clock calls it). The timer stops at
   * the first tick with nothing to watch (not at every empty moment: that churned it per request).
   */
  tick() {
    if (this.entries.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const now = this.now();
    for (const entry of this.entries) {
      if (entry.at > now) break;
      this.entries.delete(entry);
      entry.onExpire();
    }
  }
}
