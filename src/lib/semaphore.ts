/**
 * At most `permits` holders at once; others wait in arrival order. `open()` lets every waiter in at
 * once (shutting down: they each see why and go home), and any that come later.
 */
export class Semaphore {
  private held = 0;
  private readonly waiting: (() => void)[] = [];
  private opened = false;

  constructor(private readonly permits: number) {}

  /** Resolves with the function that gives the permit back (call it exactly once). */
  async acquire(): Promise<() => void> {
    if (!this.opened && this.held >= this.permits) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held--;
      this.waiting.shift()?.();
    };
  }

  open(): void {
    this.opened = true;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}
