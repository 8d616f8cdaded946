import { PgCode, pgCode, type Sql } from '../db/client.ts';
import { AppError } from '../http/errors.ts';
import { Batcher } from '../lib/batcher.ts';
import { runStockBatch, type StockCommand, type StockResult } from './stock-engine.ts';

export type StockActorOptions = {
  /** Commands waiting in one product's mailbox before new work for it is refused (429). */
  maxDepth: number;
  maxBatch: number;
  /** A mailbox with nothing to do for this long is dropped. */
  idleMs: number;
};

const TRANSIENT = new Set<string>([PgCode.deadlockDetected, PgCode.serializationFailure]);

/**
 * One mailbox per product: the only path by which this process changes a product's stock. The
 * mailbox runs one batch at a time, so within the process a product's changes are serialised
 * without waiting on locks; the advisory lock in the engine serialises them with other processes.
 */
export class StockActors {
  private readonly mailboxes = new Map<string, { batcher: Batcher<StockCommand, StockResult>; lastUsed: number }>();
  private readonly evictTimer: ReturnType<typeof setInterval>;
  private batchSizes = { batches: 0, commands: 0 };

  constructor(
    private readonly sql: Sql,
    private readonly options: StockActorOptions,
  ) {
    this.evictTimer = setInterval(() => this.evictIdle(), Math.max(1000, options.idleMs));
    this.evictTimer.unref();
  }

  /**
   * Queues a command for its product. `admit: false` is for work that continues an order already
   * accepted (it must not be dropped); new work is refused when the mailbox is full.
   */
  send(productId: string, command: StockCommand, { admit = true }: { admit?: boolean } = {}): Promise<StockResult> {
    const mailbox = this.mailbox(productId);
    if (admit && mailbox.batcher.depth >= this.options.maxDepth) {
      return Promise.reject(
        new AppError('rate_limited', 'too many stock changes are queued for this product; retry shortly', undefined, { retryAfterSeconds: 1 }),
      );
    }
    mailbox.lastUsed = Date.now();
    return mailbox.batcher.add(command);
  }

  get size(): number {
    return this.mailboxes.size;
  }

  depth(): number {
    let total = 0;
    for (const { batcher } of this.mailboxes.values()) total += batcher.depth;
    return total;
  }

  stats() {
    return { mailboxes: this.mailboxes.size, depth: this.depth(), ...this.batchSizes };
  }

  async drain(): Promise<void> {
    await Promise.all([...this.mailboxes.values()].map(({ batcher }) => batcher.drain()));
  }

  close(): void {
    clearInterval(this.evictTimer);
  }

  private mailbox(productId: string) {
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

  /** Deadlocks cannot happen between stock batches (ordered locks), but other writers may race: retry those. */
  private async run(productIds: string[], commands: StockCommand[]) {
    this.batchSizes.batches++;
    this.batchSizes.commands += commands.length;
    for (let attempt = 1; ; attempt++) {
      try {
        return await runStockBatch(this.sql, productIds, commands);
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
