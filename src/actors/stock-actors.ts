import postgres from 'postgres';
import { isDatabaseUnavailable, PgCode, pgCode, type Sql } from '../db/client.ts';
import { AppError, toError } from '../lib/errors.ts';
import { backoffMs, type Backoff } from '../lib/backoff.ts';
import { Batcher } from '../lib/batcher.ts';
import { systemClock, type Clock } from '../lib/clock.ts';
import type { AllocationStrategy } from './allocation.ts';
import { decideFromMemory, runStockBatch, type Keeper, type StockWork } from './stock-engine.ts';
import { StockLane } from './stock-lane.ts';
import { Deferred, type StockRead } from './stock-plan.ts';
import type { LevelRow, LocationRow, PlaceRow } from './stock.queries.ts';

export type StockActorOptions = {
  /** Work waiting in one product's mailbox before new work for it is refused (429): MAILBOX_MAX_DEPTH. */
  maxDepth: number;
  /** Where a line's units come from when a product is stocked at several locations: ALLOCATION_STRATEGY. */
  allocation?: AllocationStrategy;
  /** Works in one stock transaction, all products together. */
  maxBatch?: number;
  /** Stock transactions that read running at once (each holds one connection). */
  maxConcurrent?: number;
  /** Batches decided from memory sent and not yet answered, at most (STOCK_PIPELINE_DEPTH; 0: every batch reads). */
  pipelineDepth?: number;
  /** A mailbox with nothing to do for this long is dropped. */
  idleMs?: number;
  /** The connection of the batches decided from memory (`Database.lane`); without it, one of the pool's. */
  lane?: () => Sql;
  /** The owner of reservations that lapse (holds), which joins the batches where they matter (stock-engine.ts). */
  keeper?: Keeper;
};

/**
 * A thousand works fill one transaction's statements with a few thousand array elements: well
 * inside postgres.js's 65,534 parameters, and a hot product's whole burst in one commit.
 */
const MAX_BATCH = 1000;
/**
 * Two transactions that read at once: one leaves the thread waiting on the database, while more
 * split the work of many products into smaller batches, each paying a statement's fixed cost.
 */
const MAX_CONCURRENT = 2;
/**
 * Two batches decided from memory in flight: one runs in PostgreSQL while the next waits behind
 * it, already sent, and the service decides the one after (bench/README.md, "Pipelined batches").
 */
export const PIPELINE_DEPTH = 2;
/**
 * After a batch decided from memory failed, the product's batches read for a while, longer each
 * time it fails again (up to 2 s), until one decided from memory commits: with several processes
 * ordering one product each one's memory is stale by the next batch, and deciding from it would
 * only send batches to fail. They then take turns on the product's lock, as batches that read.
 */
const REDONE_PAUSE: Backoff = { baseMs: 50, maxMs: 2_000 };
/** A mailbox idle for a minute is dropped: a shop with many products keeps only the busy ones' in memory. */
const IDLE_MS = 60_000;

const TRANSIENT = new Set<string>([PgCode.deadlockDetected, PgCode.serializationFailure]);
/** Another writer's lock or snapshot was in the way: it is gone within milliseconds. */
const TRANSIENT_RETRY: Backoff = { baseMs: 20, maxMs: 100 };

/** What the actors report (the service's metrics provide it; actors/ knows no module). */
export type StockMetrics = {
  gauge(name: string, help: string, read: () => number): void;
  stockBatchSize: { observe(size: number): void };
  stockBatches: { inc(labels: { kind: BatchKind }, by?: number): void };
};
/** How a batch went: read under the locks, decided from memory and committed, or decided from memory and decided again. */
export type BatchKind = 'read' | 'recalled' | 'redone';

type Pending = { work: StockWork; seq: number; resolve: (result: unknown) => void; reject: (error: Error) => void; deferred: boolean };
/** A product as this process last left it: its row and its rows at each location (the locations are the actors'). */
type Known = { row: LevelRow; places: PlaceRow[] };
type Mailbox = {
  queue: Pending[];
  lastUsed: number;
  /** In a batch that reads: no other batch of the product may be decided meanwhile. */
  busy: boolean;
  /** Batches decided from memory that are not answered yet. */
  inFlight: number;
  /** What the next batch may be decided on without reading (absent: it must read). */
  known?: Known;
  /**
   * Batches decided from memory that failed one after the other (another process keeps changing
   * the product), and until when its batches read instead: see `REDONE_PAUSE`.
   */
  redone: number;
  readUntil: number;
};

/** A value the database refuses to store (SQLSTATE class 22): the fault of the work that carried it. */
const isDataError = (error: unknown) => (pgCode(error) ?? '').startsWith('22');

/** The products of a batch's outcome, each as the actors keep it. */
function byProduct(read: StockRead): Map<string, Known> {
  const known = new Map<string, Known>(read.rows.map((row) => [row.productId, { row, places: [] }]));
  for (const place of read.places) known.get(place.productId)?.places.push(place);
  return known;
}

/**
 * One mailbox per product: the only path by which this process changes a product's stock. Within
 * the process a product's changes are decided one batch after the other, in arrival order, without
 * waiting on locks; the advisory locks serialise them with other processes.
 *
 * A batch is decided in one of two ways:
 * - **reading**: the dispatcher takes products with work waiting and nothing of theirs under way,
 *   and puts their work, up to `maxBatch`, into one transaction that locks them, reads their rows
 *   and writes (stock-engine.ts `runStockBatch`). A hot product gets a batch of hundreds of works;
 *   a thousand quiet products share one transaction.
 * - **from memory** (pipelined): once a batch has read a product, the actors know what it left;
 *   the next works of the product whose participants can decide without reading (an order without
 *   a hold, a payment's outcome) are decided on that at once, and sent, with the batches before
 *   them still in PostgreSQL, over one connection (`StockLane`), up to `pipelineDepth` of them.
 *   Each is one transaction: the locks, then one write fenced on every product's version. A batch
 *   decided on counts another process changed fails whole, and its works, with every batch decided
 *   after it on those products (their fences fail too), are decided again by a batch that reads.
 * Work that spans several products goes through one more mailbox, whose batches read and lock all
 * their products in key order: all or nothing, and never a deadlock.
 *
 * A batch that reads and fails for a reason other than the database being away is split in halves
 * until the work at fault fails alone (a value the database refuses: 422) and every other one goes
 * through.
 */
export class StockActors {
  private readonly mailboxes = new Map<string, Mailbox>();
  /** Products with work waiting, oldest first. */
  private readonly ready = new Set<string>();
  private running = 0;
  private scheduled = false;
  private seq = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly multi: Batcher<StockWork, unknown>;
  private readonly evictTimer: ReturnType<typeof setInterval>;
  private readonly counters = { batches: 0, works: 0, recalled: 0, redone: 0 };
  /** Products whose last batch here left units held (BatchOptions.held). */
  private readonly held = new Set<string>();
  private readonly lane: StockLane;
  /** The live locations as the last batch that read saw them. */
  private locations: LocationRow[] = [];
  /** Batches are decided from memory only while every process on the database fences its writes (`allowPipelining`). */
  private pipelining = false;
  private readonly maxBatch: number;
  private readonly maxConcurrent: number;
  private readonly depthOfPipeline: number;
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
    this.depthOfPipeline = options.pipelineDepth ?? PIPELINE_DEPTH;
    this.idleMs = options.idleMs ?? IDLE_MS;
    this.lane = new StockLane(() => options.lane?.() ?? sql);
    this.multi = new Batcher<StockWork, unknown>((works) => this.readingMulti(works), {
      maxBatch: Math.min(100, this.maxBatch),
      lingerMs: 0,
      maxInFlight: 1,
    });
    this.evictTimer = setInterval(() => this.evictIdle(), Math.max(1000, this.idleMs));
    this.evictTimer.unref();
  }

  /**
   * Whether batches may be decided from memory: only when every process that writes stock fences
   * its writes on the levels' versions (a process of the version before locations does not, and
   * the fence would not see its changes). Turned off, everything this process knew is forgotten.
   */
  allowPipelining(allowed: boolean) {
    this.pipelining = allowed && this.depthOfPipeline > 0;
    if (!this.pipelining) for (const mailbox of this.mailboxes.values()) mailbox.known = undefined;
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
      mailbox.queue.push({ work, seq: this.seq++, resolve, reject, deferred: false });
      this.ready.add(productId);
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
    if (this.idle()) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    clearInterval(this.evictTimer);
    this.lane.close();
  }

  private idle(): boolean {
    return this.running === 0 && this.lane.inFlight === 0 && this.ready.size === 0;
  }

  private mailbox(productId: string): Mailbox {
    let mailbox = this.mailboxes.get(productId);
    if (!mailbox) {
      mailbox = { queue: [], lastUsed: this.clock.now(), busy: false, inFlight: 0, redone: 0, readUntil: 0 };
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
    if (this.pipelining) this.dispatchRecalled();
    this.dispatchReading();
    if (this.idle()) this.idleWaiters.splice(0).forEach((resolve) => resolve());
  }

  /** A work the next batch may decide from memory: one product's, not sent back by a batch from memory, its participant able to. */
  private recallable(pending: Pending | undefined): boolean {
    if (!pending || pending.deferred) return false;
    const { work } = pending;
    return work.productIds.length === 1 && !work.keeps?.length && work.participant?.canRecall?.(work) === true;
  }

  private dispatchRecalled() {
    while (this.lane.inFlight < this.depthOfPipeline) {
      const productIds: string[] = [];
      const batch: Pending[] = [];
      for (const productId of this.ready) {
        if (batch.length >= this.maxBatch) break;
        const mailbox = this.mailboxes.get(productId)!;
        if (mailbox.busy || !this.mayRecall(mailbox)) continue;
        let taken = 0;
        while (batch.length < this.maxBatch && this.recallable(mailbox.queue[taken])) batch.push(mailbox.queue[taken++]!);
        if (taken === 0) continue;
        mailbox.queue.splice(0, taken);
        if (mailbox.queue.length === 0) this.ready.delete(productId);
        productIds.push(productId);
      }
      if (batch.length === 0) return;
      this.sendRecalled(productIds, batch);
    }
  }

  private dispatchReading() {
    while (this.running < this.maxConcurrent) {
      const productIds: string[] = [];
      const batch: Pending[] = [];
      for (const productId of this.ready) {
        if (batch.length >= this.maxBatch) break;
        const mailbox = this.mailboxes.get(productId)!;
        // Under way from memory: its batches are answered first. Known, and its next work recallable: the pipeline takes it.
        if (mailbox.busy || mailbox.inFlight > 0) continue;
        if (this.pipelining && this.mayRecall(mailbox) && this.recallable(mailbox.queue[0])) continue;
        for (const pending of mailbox.queue.splice(0, this.maxBatch - batch.length)) batch.push(pending);
        if (mailbox.queue.length === 0) this.ready.delete(productId);
        mailbox.busy = true;
        productIds.push(productId);
      }
      if (batch.length === 0) return;
      this.running++;
      void this.executeReading(productIds, batch);
    }
  }

  /** Whether the product's next batch may be decided from memory (it knows the product, and is not pausing after failed ones). */
  private mayRecall(mailbox: Mailbox): boolean {
    return mailbox.known !== undefined && (mailbox.redone === 0 || this.clock.now() >= mailbox.readUntil);
  }

  /** Works back in their mailboxes, in arrival order, ahead of what came after them. */
  private requeue(batch: Pending[], deferred: boolean) {
    for (const pending of batch) {
      pending.deferred ||= deferred;
      const productId = pending.work.productIds[0]!;
      const queue = this.mailbox(productId).queue;
      let at = 0;
      while (at < queue.length && queue[at]!.seq < pending.seq) at++;
      queue.splice(at, 0, pending);
      this.ready.add(productId);
    }
  }

  private sendRecalled(productIds: string[], batch: Pending[]) {
    const read: StockRead = { rows: [], places: [], locations: this.locations };
    for (const productId of productIds) {
      const { row, places } = this.mailboxes.get(productId)!.known!;
      read.rows.push(row);
      read.places.push(...places);
    }
    const works = batch.map((p) => p.work);
    let decided: ReturnType<typeof decideFromMemory>;
    try {
      // Its time until it commits (what it writes carries the transaction's own, `now()`).
      decided = decideFromMemory(read, works, { strategy: this.strategy }, new Date().toISOString());
    } catch {
      // Whatever could not be decided from memory is decided by a batch that reads (and fails there, if it must).
      this.forget(productIds);
      this.requeue(batch, true);
      return;
    }
    const sent = batch.filter((_, i) => !(decided.results[i] instanceof Deferred));
    this.requeue(
      batch.filter((_, i) => decided.results[i] instanceof Deferred),
      true,
    );
    if (sent.length === 0) return;
    const results = new Map(batch.map((pending, i) => [pending, decided.results[i]]));
    const next = byProduct(decided.next);
    for (const productId of productIds) {
      const mailbox = this.mailboxes.get(productId)!;
      mailbox.known = next.get(productId);
      mailbox.inFlight++;
    }
    this.counters.batches++;
    this.counters.works += sent.length;
    this.metrics.stockBatchSize.observe(sent.length);
    void this.lane
      .run((tx) => decided.send(tx))
      .then(
        (at) => {
          decided.committed(at);
          this.counters.recalled++;
          for (const productId of productIds) this.mailboxes.get(productId)!.redone = 0;
          this.metrics.stockBatches.inc({ kind: 'recalled' });
          for (const pending of sent) pending.resolve(results.get(pending));
        },
        (error: unknown) => {
          // Nothing of it is known to be written: what the batch left is unknown too.
          this.forget(productIds);
          if (isDatabaseUnavailable(error)) {
            const err = toError(error);
            for (const pending of sent) pending.reject(err);
            return;
          }
          this.counters.redone++;
          for (const productId of productIds) {
            const mailbox = this.mailboxes.get(productId)!;
            mailbox.readUntil = this.clock.now() + backoffMs(++mailbox.redone, REDONE_PAUSE);
          }
          this.metrics.stockBatches.inc({ kind: 'redone' });
          this.requeue(sent, false);
        },
      )
      .finally(() => {
        for (const productId of productIds) this.mailboxes.get(productId)!.inFlight--;
        this.dispatch();
      });
  }

  private forget(productIds: readonly string[]) {
    for (const productId of productIds) {
      const mailbox = this.mailboxes.get(productId);
      if (mailbox) mailbox.known = undefined;
    }
  }

  private async executeReading(productIds: string[], batch: Pending[]) {
    try {
      const { results, next } = await this.runIsolated(batch.map((p) => p.work));
      for (const productId of productIds) this.mailboxes.get(productId)!.known = next.get(productId);
      batch.forEach((pending, i) => {
        const result = results[i];
        if (result instanceof Error) pending.reject(result);
        else pending.resolve(result);
      });
    } catch (error) {
      this.forget(productIds);
      const err = toError(error);
      for (const pending of batch) pending.reject(err);
    } finally {
      this.running--;
      for (const productId of productIds) this.mailboxes.get(productId)!.busy = false;
      this.dispatch();
    }
  }

  /**
   * Work over several products: batches that read, beside the mailboxes. A product it changed may
   * have batches from memory under way, decided without its change (their fences fail): what this
   * process knew of its products is forgotten, and their next batch reads.
   */
  private async readingMulti(works: StockWork[]): Promise<unknown[]> {
    const productIds = [...new Set(works.flatMap((w) => w.productIds))];
    try {
      return (await this.runIsolated(works)).results;
    } finally {
      this.forget(productIds);
    }
  }

  /**
   * Results in order (an Error for a work that failed alone), and the products as the batches that
   * committed left them; throws when the batch as a whole could not run.
   */
  private async runIsolated(works: StockWork[]): Promise<{ results: unknown[]; next: Map<string, Known> }> {
    try {
      const outcome = await this.run(works);
      return { results: outcome.results, next: byProduct(outcome.next) };
    } catch (error) {
      // Nothing to isolate when the database is away: every work gets that answer.
      if (isDatabaseUnavailable(error)) throw error;
      if (works.length === 1) {
        if (!isDataError(error)) return { results: [toError(error)], next: new Map() };
        const detail = error instanceof postgres.PostgresError ? error.message : toError(error).message;
        return { results: [new AppError('validation', `a value of this request cannot be stored: ${detail}`)], next: new Map() };
      }
      const half = Math.ceil(works.length / 2);
      const first = await this.runIsolated(works.slice(0, half));
      const second = await this.runIsolated(works.slice(half));
      // A product of the first half only is as it left it; of both, as the second left it.
      return { results: [...first.results, ...second.results], next: new Map([...first.next, ...second.next]) };
    }
  }

  private get strategy(): AllocationStrategy {
    return this.options.allocation ?? 'fewest-splits';
  }

  /** Stock batches cannot deadlock each other (ordered locks), but other writers may race: retry those. */
  private async run(works: StockWork[]) {
    const productIds = [...new Set(works.flatMap((w) => w.productIds))];
    this.counters.batches++;
    this.counters.works += works.length;
    this.metrics.stockBatchSize.observe(works.length);
    for (let attempt = 1; ; attempt++) {
      try {
        const outcome = await runStockBatch(this.sql, productIds, works, { strategy: this.strategy, keeper: this.options.keeper, held: this.held });
        this.locations = outcome.next.locations;
        this.metrics.stockBatches.inc({ kind: 'read' });
        return outcome;
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
      if (mailbox.lastUsed < cutoff && mailbox.queue.length === 0 && !mailbox.busy && mailbox.inFlight === 0) this.mailboxes.delete(productId);
    }
  }
}
