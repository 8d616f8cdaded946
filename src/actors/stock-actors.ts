import { PgCode, pgCode, type Sql } from '../db/client.ts';
import { AppError, toError } from '../http/errors.ts';
import { Batcher } from '../lib/batcher.ts';
import type { OrderCommand, OrderOutcome, OrderPolicy, ResultOf, StockCommand, StockResult } from './stock-commands.ts';
import { runStockBatch } from './stock-engine.ts';

export type StockActorOptions = {
  /** Commands waiting in one product's mailbox before new work for it is refused (429). */
  maxDepth: number;
  /** Commands in one stock transaction, all products together. */
  maxBatch: number;
  /** Stock transactions running at once (each holds one connection). */
  maxConcurrent: number;
  /** A mailbox with nothing to do for this long is dropped. */
  idleMs: number;
};

const TRANSIENT = new Set<string>([PgCode.deadlockDetected, PgCode.serializationFailure]);

type Pending = { command: StockCommand; resolve: (result: StockResult) => void; reject: (error: Error) => void };
type Mailbox = { queue: Pending[]; lastUsed: number };
type MultiCommand = { productIds: string[]; command: OrderCommand };

/** The one product a mailbox command is for. */
const commandProduct = (command: StockCommand) => ('productId' in command ? command.productId : command.items[0]!.productId);

/**
 * One mailbox per product: the only path by which this process changes a product's stock. A
 * product is in at most one stock transaction at a time, so within the process its changes are
 * serialised without waiting on locks, in arrival order; the advisory lock in the engine
 * serialises them with other processes.
 *
 * A dispatcher turns mailboxes into transactions: it takes every product with work waiting (and
 * no transaction running) and puts their commands, up to `maxBatch`, into one transaction. A hot
 * product gets a batch of hundreds of its own commands; a thousand quiet products share one
 * transaction instead of a thousand small ones.
 *
 * Orders with several products go through one more mailbox, whose batches lock all their products
 * in key order: all or nothing, and never a deadlock.
 */
export class StockActors {
  private readonly mailboxes = new Map<string, Mailbox>();
  /** Products with commands waiting and no transaction running, oldest first. */
  private readonly ready = new Set<string>();
  private readonly busy = new Set<string>();
  private running = 0;
  private scheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly multi: Batcher<MultiCommand, StockResult>;
  private readonly evictTimer: ReturnType<typeof setInterval>;
  private readonly counters = { batches: 0, commands: 0 };
  /** Observer of batch sizes (metrics). */
  onBatch: (size: number) => void = () => {};

  constructor(
    private readonly sql: Sql,
    private readonly options: StockActorOptions,
    private readonly policy: OrderPolicy,
  ) {
    this.multi = new Batcher<MultiCommand, StockResult>(
      (items) => this.run([...new Set(items.flatMap((i) => i.productIds))], items.map((i) => i.command)),
      { maxBatch: Math.min(100, options.maxBatch), lingerMs: 0, maxInFlight: 1 },
    );
    this.evictTimer = setInterval(() => this.evictIdle(), Math.max(1000, options.idleMs));
    this.evictTimer.unref();
  }

  /**
   * Queues a command for its product. `admit: false` is for work that continues an order already
   * accepted (it must not be dropped); new work is refused when the mailbox is full.
   */
  send<C extends StockCommand>(productId: string, command: C, { admit = true }: { admit?: boolean } = {}): Promise<ResultOf<C>> {
    const mailbox = this.mailbox(productId);
    if (admit && mailbox.queue.length >= this.options.maxDepth) {
      return Promise.reject(
        new AppError('rate_limited', 'too many stock changes are queued for this product; retry shortly', undefined, { retryAfterSeconds: 1 }),
      );
    }
    mailbox.lastUsed = Date.now();
    return new Promise<StockResult>((resolve, reject) => {
      mailbox.queue.push({ command, resolve, reject });
      if (!this.busy.has(productId)) this.ready.add(productId);
      this.schedule();
    }) as Promise<ResultOf<C>>;
  }

  /** Routes an order's stock work: its product's mailbox, or the multi-product one. */
  order(command: OrderCommand): Promise<OrderOutcome> {
    const productIds = command.items.map((i) => i.productId);
    if (productIds.length === 1) return this.send(productIds[0]!, command, { admit: false });
    return this.multi.add({ productIds, command }) as Promise<OrderOutcome>;
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

  /** Resolves once no command is queued or in a transaction. */
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
      mailbox = { queue: [], lastUsed: Date.now() };
      this.mailboxes.set(productId, mailbox);
    }
    return mailbox;
  }

  /** Dispatch once the current tick is over, so that commands sent together share a transaction. */
  private schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.dispatch();
    });
  }

  private dispatch() {
    while (this.running < this.options.maxConcurrent && this.ready.size > 0) {
      const productIds: string[] = [];
      const batch: Pending[] = [];
      for (const productId of this.ready) {
        if (batch.length >= this.options.maxBatch) break;
        const mailbox = this.mailboxes.get(productId)!;
        batch.push(...mailbox.queue.splice(0, this.options.maxBatch - batch.length));
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
      await this.settle(productIds, batch);
    } catch (error) {
      if (productIds.length === 1) {
        const err = toError(error);
        for (const pending of batch) pending.reject(err);
      } else {
        // One product's failure must not fail the others that shared its transaction: alone again.
        for (const productId of productIds) {
          const own = batch.filter((p) => commandProduct(p.command) === productId);
          await this.settle([productId], own).catch((failure: unknown) => {
            const err = toError(failure);
            for (const pending of own) pending.reject(err);
          });
        }
      }
    } finally {
      this.running--;
      for (const productId of productIds) {
        this.busy.delete(productId);
        if ((this.mailboxes.get(productId)?.queue.length ?? 0) > 0) this.ready.add(productId);
      }
      this.dispatch();
    }
  }

  private async settle(productIds: string[], batch: Pending[]) {
    const results = await this.run(productIds, batch.map((p) => p.command));
    batch.forEach((pending, i) => {
      const result = results[i];
      if (result instanceof Error) pending.reject(result);
      else pending.resolve(result!);
    });
  }

  /** Stock batches cannot deadlock each other (ordered locks), but other writers may race: retry those. */
  private async run(productIds: string[], commands: StockCommand[]) {
    this.counters.batches++;
    this.counters.commands += commands.length;
    this.onBatch(commands.length);
    for (let attempt = 1; ; attempt++) {
      try {
        return await runStockBatch(this.sql, productIds, commands, this.policy);
      } catch (error) {
        if (attempt >= 3 || !TRANSIENT.has(pgCode(error) ?? '')) throw error;
        await Bun.sleep(10 * attempt);
      }
    }
  }

  private evictIdle() {
    const cutoff = Date.now() - this.options.idleMs;
    for (const [productId, mailbox] of this.mailboxes) {
      if (mailbox.lastUsed < cutoff && mailbox.queue.length === 0 && !this.busy.has(productId)) this.mailboxes.delete(productId);
    }
  }
}
