import { toError } from './errors.ts';

/**
 * Collects concurrent calls for a moment and hands them to `flush` together, so that N callers cost
 * one database round trip. A batch is flushed when it is full or `lingerMs` after its first item;
 * with `maxInFlight` flushes running, new items wait and the next batch grows instead.
 */
export type BatcherOptions = { maxBatch: number; lingerMs: number; maxInFlight: number };

type Pending<T, R> = { item: T; resolve: (r: R) => void; reject: (e: Error) => void };

export class Batcher<T, R> {
  private queue: Pending<T, R>[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly flushBatch: (items: T[]) => Promise<(R | Error)[]>,
    private readonly options: BatcherOptions,
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  get idle(): boolean {
    return this.queue.length === 0 && this.inFlight === 0;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.options.maxBatch) this.kick();
      else if (this.timer === undefined) this.timer = setTimeout(() => this.kick(), this.options.lingerMs);
    });
  }

  /** Resolves once nothing is queued or being flushed. */
  async drain(): Promise<void> {
    if (this.queue.length > 0) this.kick();
    if (this.queue.length === 0 && this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private kick() {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.run(batch);
    }
  }

  private async run(batch: Pending<T, R>[]) {
    try {
      const results = await this.flushBatch(batch.map((p) => p.item));
      batch.forEach((p, i) => {
        const result = results[i];
        if (result instanceof Error) p.reject(result);
        else p.resolve(result as R);
      });
    } catch (error) {
      const err = toError(error);
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight--;
      if (this.queue.length > 0) this.kick();
      else if (this.inFlight === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
    }
  }
}
