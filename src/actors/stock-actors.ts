import postgres from 'postgres';
import { isDatabaseUnavailable, PgCode, pgCode, type Sql } from '../db/client.ts';
import { AppError, toError } from '../lib/errors.ts';
import { backoffMs, type Backoff } from '../lib/backoff.ts';
import { Batcher } from '../lib/batcher.ts';
import { systemClock, type Clock } from '../lib/clock.ts';
import type { AllocationStrategy } from './allocation.ts';
import { runStockBatch, type Keeper, type StockWork } from './stock-engine.ts';

export type StockActorOptions = {
  /** Work waiting in one product's mailbox before new work for it is refused (429): MAILBOX_MAX_DEPTH. */
  maxDepth: number;
  /** Where a line's units come from when a product is stocked at several locations: ALLOCATION_STRATEGY. */
  allocation?: AllocationStrategy;
  /** Works in one stock transaction, all products together. */
  maxBatch?: number;
  /** Stock transactions running at once (each holds one connection). */
  maxConcurrent?: number;
  /** A mailbox with nothing to do for this long is dropped. */
  idleMs?: number;
  /** The owner of reservations that lapse (holds), which joins the batches where they matter (stock-engine.ts). */
  keeper?: Keeper;
};

/**
 * A thousand works fill one transaction's statements with a few thousand array elements: well
 * inside postgres.js's 65,534 parameters, and a hot product's whole burst in one commit.
 */
const MAX_BATCH = 1000;
/**
 * Two transactions at once: one leaves the thread waiting on the database, while more split the
 * work of many products into smaller batches, each paying a statement's fixed cost (bench/README.md).
 */
const MAX_CONCURRENT = 2;
/** A mailbox idle for a minute is dropped: a shop with many products keeps only the busy ones' in memory. */
const IDLE_MS = 60_000;

const TRANSIENT = new Set<string>([PgCode.deadlockDetected, PgCode.serializationFailure]);
/** Another writer's lock or snapshot was in the way: it is gone within milliseconds. */
const TRANSIENT_RETRY: Backoff = { baseMs: 20, maxMs: 100 };

/** What the actors report (the service's metrics provide it; actors/ knows no module). */
export type StockMetrics = { gauge(name: string, help: string, read: () => number): void; stockBatchSize: { observe(size: number): void } };

type Pending = { work: StockWork; resolve: (result: unknown) => void; reject: (error: Error) => void };
type Mailbox = { queue: Pending[]; lastUsed: number };

/** A value the database refuses to store (SQLSTATE class 22): the fault of the work that carried it. */
const isDataError = (error: unknown) => (pgCode(error) ?? '').startsWith('22');

/**
 * One mailbox per product: the only path by which this process changes a product's stock. A
 * product is in at most one stock transaction at a time, so within the process its changes are
 * serialised without waiting on locks, in arrival order; the advisory lock in the engine
 * serialises them with other processes.
 *
 * A dispatcher turns mailboxes into transactions: it takes every product with work waiting (and
 * no transaction running) and puts their work, up to `maxBatch`, into one transaction. A hot
 * product gets a batch of hundreds of its own works; a thousand quiet products share one
 * transaction instead of a thousand small ones. Work that spans several products goes through one
 * more mailbox, whose batches lock all their products in key order: all or nothing, and never a
 * deadlock.
 *
 * A batch that fails for a reason other than the database being away is split in halves until the
 * work at fault fails alone (a value the database refuses: 422) and every other one goes through.
 */
export class StockActors {
  private readonly mailboxes = new Map<string, Mailbox>();
  /** Products with work waiting and no transaction running, oldest first. */
  private readonly ready = new Set<string>();
  private readonly busy = new Set<string>();
  private running = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly multi: Batcher<StockWork, unknown>;
  private readonly evictTimer: ReturnType<typeof setInterval>;
  private readonly counters = { batches: 0, works: 0 };
  /** Products whose last batch here left units held (BatchOptions.held). */
  private readonly held = new Set<string>();
  private readonly maxBatch: number;
  private readonly maxConcurrent: number;
  private readonly idleMs: number;

  constructor(
    private readonly sql: Sql,
    private readonly options: StockActorOptions,
    private readonly metrics: StockMetrics,
    /** Idle time is counted on this clock (tests replace it instead of sleeping). */
    private readonly clock: Pick<Clock, 'now'> = systemClock,
  ) {
    metrics.gauge('stock_mailbox_depth', 'Stock commands queued in all product mailboxes', () => this.depth());
    metrics.gauge('stock_mailboxes', 'Product mailboxes alive', () => this.mailboxes.size);
    this.maxBatch = options.maxBatch ?? MAX_BATCH;
    this.maxConcurrent = options.maxConcurrent ?? MAX_CONCURRENT;
    this.idleMs = options.idleMs ?? IDLE_MS;
    this.multi = new Batcher<StockWork, unknown>((works) => this.runIsolated(works), {
      maxBatch: Math.min(100, this.maxBatch),
      lingerMs: 0,
      maxInFlight: 1,
    });
    this.evictTimer = setInterval(() => this.evictIdle(), Math.max(1000, this.idleMs));
    this.evictTimer.unref();
  }

  /**
   * Queues a work. `admit: false` is for work that continues something already accepted (an
   * order's next step: it must not be dropped); new work is refused when the mailbox is full.
   */
  submit<R>(work: StockWork<R>, { admit = true }: { admit?: boolean } = {}): Promise<R> {
    if (work.productIds.length !== 1) return this.multi.add(work) as Promise<R>;
    const productId = work.productIds[0]!;
    const mailbox = this.mailbox(productId);
    if (admit && mailbox.queue.length >= this.options.maxDepth) {
      return Promise.reject(
        new AppError('rate_limited', 'too much stock work is queued for this product; retry shortly', undefined, { retryAfterSeconds: 1 }),
      );
    }
    mailbox.lastUsed = this.clock.now();
    return new Promise<unknown>((resolve, reject) => {
      mailbox.queue.push({ work, resolve, reject });
      if (!this.busy.has(productId)) this.ready.add(productId);
      this.schedule();
    }) as Promise<R>;
  }

  /** True when new work for this product should be refused for now. */
  full(productId: string): boolean {
    return (this.mailboxes.get(productId)?.queue.length ?? 0) >= this.options.maxDepth;
  }

  depth(): number {
    let total = this.multi.depth;
    for (const { queue } of this.mailboxes.values()) total += queue.length;
    return total;
  }

  stats() {
    return { mailboxes: this.mailboxes.size, depth: this.depth(), ...this.counters };
  }

  /** Resolves once no work is queued or in a transaction. */
  async drain(): Promise<void> {
    await this.multi.drain();
    if (this.running === 0 && this.ready.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    clearInterval(this.evictTimer);
  }

  private mailbox(productId: string): Mailbox {
    let mailbox = this.mailboxes.get(productId);
    if (!mailbox) {
      mailbox = { queue: [], lastUsed: this.clock.now() };
      this.mailboxes.set(productId, mailbox);
    }
    return mailbox;
  }

  /** Dispatch once the current tick is over, so that work sent together shares a transaction. */
  private schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.dispatch();
    });
  }

  private dispatch() {
    while (this.running < this.maxConcurrent && this.ready.size > 0) {
      const productIds: string[] = [];
      const batch: Pending[] = [];
      for (const productId of this.ready) {
        if (batch.length >= this.maxBatch) break;
        const mailbox = this.mailboxes.get(productId)!;
        const taken = mailbox.queue.splice(0, this.maxBatch - batch.length);
        for (const pending of taken) batch.push(pending);
        productIds.push(productId);
      }
      for (const productId of productIds) {
        this.ready.delete(productId);
        this.busy.add(productId);
      }
      this.running++;
      void this.execute(productIds, batch);
    }
    if (this.running === 0 && this.ready.size === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
  }

  private async execute(productIds: string[], batch: Pending[]) {
    try {
      const results = await this.runIsolated(batch.map((p) => p.work));
      batch.forEach((pending, i) => {
        const result = results[i];
        if (result instanceof Error) pending.reject(result);
        else pending.resolve(result);
      });
    } catch (error) {
      const err = toError(error);
      for (const pending of batch) pending.reject(err);
    } finally {
      this.running--;
      for (const productId of productIds) {
        this.busy.delete(productId);
        if ((this.mailboxes.get(productId)?.queue.length ?? 0) > 0) this.ready.add(productId);
      }
      this.dispatch();
    }
  }

  /** Results in order (an Error for a work that failed alone); throws when the batch as a whole could not run. */
  private async runIsolated(works: StockWork[]): Promise<unknown[]> {
    try {
      return (await this.run(works)).results;
    } catch (error) {
      // Nothing to isolate when the database is away: every work gets that answer.
      if (isDatabaseUnavailable(error)) throw error;
      if (works.length === 1) {
        if (!isDataError(error)) return [toError(error)];
        const detail = error instanceof postgres.PostgresError ? error.message : toError(error).message;
        return [new AppError('validation', `a value of this request cannot be stored: ${detail}`)];
      }
      const half = Math.ceil(works.length / 2);
      return [...(await this.runIsolated(works.slice(0, half))), ...(await this.runIsolated(works.slice(half)))];
    }
  }

  /** Stock batches cannot deadlock each other (ordered locks), but other writers may race: retry those. */
  private async run(works: StockWork[]) {
    const productIds = [...new Set(works.flatMap((w) => w.productIds))];
    this.counters.batches++;
    this.counters.works += works.length;
    this.metrics.stockBatchSize.observe(works.length);
    for (let attempt = 1; ; attempt++) {
      try {
        return await runStockBatch(this.sql, productIds, works, { strategy: this.options.allocation ?? 'fewest-splits', keeper: this.options.keeper, held: this.held });
      } catch (error) {
        if (attempt >= 3 || !TRANSIENT.has(pgCode(error) ?? '')) throw error;
        await Bun.sleep(backoffMs(attempt, TRANSIENT_RETRY));
      }
    }
  }

  /** Drops the mailboxes idle for `idleMs`; runs on a timer (a test with its own clock calls it). */
  evictIdle() {
    const cutoff = this.clock.now() - this.idleMs;
    for (const [productId, mailbox] of this.mailboxes) {
      if (mailbox.lastUsed < cutoff && mailbox.queue.length === 0 && !this.busy.has(productId)) this.mailboxes.delete(productId);
    }
  }
}
