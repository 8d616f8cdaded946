import { PgCode, pgCode, type Sql } from '../db/client.ts';
import { AppError } from '../http/errors.ts';
import { Batcher } from '../lib/batcher.ts';
import type { OrderCommand, OrderOutcome, OrderPolicy, ResultOf, StockCommand, StockResult } from './stock-commands.ts';
import { runStockBatch } from './stock-engine.ts';

export type StockActorOptions = {
  /** Commands waiting in one product's mailbox before new work for it is refused (429). */
  maxDepth: number;
  maxBatch: number;
  /** A mailbox with nothing to do for this long is dropped. */
  idleMs: number;
};

const TRANSIENT = new Set<string>([PgCode.deadlockDetected, PgCode.serializationFailure]);

type Mailbox = { batcher: Batcher<StockCommand, StockResult>; lastUsed: number };
type MultiCommand = { productIds: string[]; command: OrderCommand };

/**
 * One mailbox per product: the only path by which this process changes a product's stock. The
 * mailbox runs one batch at a time, so within the process a product's changes are serialised
 * without waiting on locks; the advisory lock in the engine serialises them with other processes.
 *
 * Orders with several products go through one more mailbox, whose batches lock all their products
 * in key order: all or nothing, and never a deadlock.
 */
export class StockActors {
  private readonly mailboxes = new Map<string, Mailbox>();
  private readonly multi: Batcher<MultiCommand, StockResult>;
  private readonly evictTimer: ReturnType<typeof setInterval>;
  private readonly counters = { batches: 0, commands: 0 };
  /** Observers of batch sizes (metrics). */
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
    if (admit && mailbox.batcher.depth >= this.options.maxDepth) {
      return Promise.reject(
        new AppError('rate_limited', 'too many stock changes are queued for this product; retry shortly', undefined, { retryAfterSeconds: 1 }),
      );
    }
    mailbox.lastUsed = Date.now();
    return mailbox.batcher.add(command) as Promise<ResultOf<C>>;
  }

  /** Routes an order's stock work: its product's mailbox, or the multi-product one. */
  order(command: OrderCommand): Promise<OrderOutcome> {
    const productIds = command.items.map((i) => i.productId);
    if (productIds.length === 1) return this.send(productIds[0]!, command, { admit: false });
    return this.multi.add({ productIds, command }) as Promise<OrderOutcome>;
  }

  /** True when new work for this product should be refused for now. */
  full(productId: string): boolean {
    return (this.mailboxes.get(productId)?.batcher.depth ?? 0) >= this.options.maxDepth;
  }

  depth(): number {
    let total = this.multi.depth;
    for (const { batcher } of this.mailboxes.values()) total += batcher.depth;
    return total;
  }

  stats() {
    return { mailboxes: this.mailboxes.size, depth: this.depth(), ...this.counters };
  }

  async drain(): Promise<void> {
    await Promise.all([this.multi.drain(), ...[...this.mailboxes.values()].map(({ batcher }) => batcher.drain())]);
  }

  close(): void {
    clearInterval(this.evictTimer);
  }

  private mailbox(productId: string): Mailbox {
    let mailbox = this.mailboxes.get(productId);
    if (!mailbox) {
      const batcher = new Batcher<StockCommand, StockResult>((commands) => this.run([productId], commands), {
        maxBatch: this.options.maxBatch,
        lingerMs: 0,
        maxInFlight: 1,
      });
      mailbox = { batcher, lastUsed: Date.now() };
      this.mailboxes.set(productId, mailbox);
    }
    return mailbox;
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
      if (mailbox.lastUsed < cutoff && mailbox.batcher.idle) this.mailboxes.delete(productId);
    }
  }
}
