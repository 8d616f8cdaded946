import type { StockActors } from '../../actors/stock-actors.ts';
import type { OrderOutcome } from '../../actors/stock-commands.ts';
import { toError } from '../../http/errors.ts';
import { Batcher } from '../../lib/batcher.ts';
import type { Logger } from '../../lib/logger.ts';
import { chargeKey, PaymentError, type Charge, type PaymentGateway } from '../payments/gateway.ts';
import type { AcceptedWork } from './intake.ts';
import type { OrderItem, PaymentStatus } from './order-state.ts';
import { recordPaymentRetries, type ClaimedOrder, type PaymentRetry } from './work.queries.ts';
import type { Sql } from '../../db/client.ts';

export type PipelineOptions = {
  paymentMaxAttempts: number;
  paymentConcurrency: number;
  currency: string;
  /** Backoff before payment attempt `attempt + 1` (the service's one backoff formula). */
  retryDelayMs(attempt: number): number;
  /** A retry is due at this time (ms since epoch): wake the claimer then. */
  onRetryScheduled(at: number): void;
  /** The provider must be asked about this order now (a charge landed on an order that moved on). */
  reconcileNow(orderId: string): void;
  logger: Logger;
  now(): number;
};

type Work = {
  id: string;
  version: number;
  total: string;
  items: OrderItem[];
  status: 'pending' | 'reserved';
  paymentAttempts: number;
  /** A previous payment attempt may have charged: ask the provider before charging again. */
  uncertain: boolean;
};

export type PaymentOutcomeLabel = 'succeeded' | 'declined' | 'unknown' | 'retryable' | 'permanent';

/**
 * Drives each order through its steps: reserve (stock actor) → pay (provider, outside every
 * transaction and mailbox turn) → sell or fail (stock actor again). Everything it holds in memory
 * can be lost at any moment: the orders table says what is left to do, and the claimer feeds it
 * back here after a crash or when a retry is due.
 */
export class OrderPipeline {
  private readonly inFlight = new Map<string, Work>();
  private readonly payQueue: Work[] = [];
  private paying = 0;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];
  private readonly retries: Batcher<PaymentRetry, boolean>;
  /** Observers for metrics. */
  onPayment: (outcome: PaymentOutcomeLabel, seconds: number) => void = () => {};

  constructor(
    sql: Sql,
    private readonly actors: StockActors,
    private readonly gateway: PaymentGateway,
    private readonly options: PipelineOptions,
  ) {
    this.retries = new Batcher(
      async (items) => {
        const written = await recordPaymentRetries(sql, items);
        return items.map((item) => written.has(item.id));
      },
      { maxBatch: 500, lingerMs: 2, maxInFlight: 2 },
    );
  }

  get size(): number {
    return this.inFlight.size;
  }

  /** Orders just stored by the intake. */
  accept(accepted: AcceptedWork[]) {
    for (const order of accepted) this.start({ ...order, status: 'pending', paymentAttempts: 0, uncertain: false });
  }

  /** Orders claimed from the table: due retries, or work abandoned by a process that died. */
  resume(claimed: ClaimedOrder[]) {
    for (const order of claimed) {
      if (order.status !== 'pending' && order.status !== 'reserved') continue;
      // A reserved order may have been charged by whoever held it: look before charging.
      this.start({ ...order, status: order.status, uncertain: order.status === 'reserved' });
    }
  }

  /** Stops taking work; waits (up to the deadline) for payment calls and stock writes under way. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    for (const work of this.payQueue.splice(0)) this.finish(work);
    if (this.inFlight.size > 0) {
      await Promise.race([new Promise<void>((resolve) => this.idleWaiters.push(resolve)), Bun.sleep(deadlineMs)]);
    }
    await this.retries.drain();
  }

  private start(work: Work) {
    if (this.stopping) return;
    // A newer claim replaces an older copy; the older one's writes are fenced out by version.
    this.inFlight.set(work.id, work);
    if (work.status === 'pending') this.reserve(work);
    else this.enqueuePayment(work);
  }

  private finish(work: Work) {
    if (this.inFlight.get(work.id) === work) this.inFlight.delete(work.id);
    if (this.inFlight.size === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
  }

  private stockStep(work: Work, step: Promise<OrderOutcome>, next: (outcome: OrderOutcome) => void) {
    step.then(
      (outcome) => {
        if ('version' in outcome) work.version = outcome.version;
        next(outcome);
      },
      (error) => {
        // The order stays as the table has it; its lease runs out and a claimer takes it up again.
        this.options.logger.error({ err: toError(error), orderId: work.id }, 'stock step failed');
        this.finish(work);
      },
    );
  }

  private reserve(work: Work) {
    this.stockStep(work, this.actors.order({ kind: 'reserve', orderId: work.id, version: work.version, items: work.items }), (outcome) => {
      if (outcome.outcome === 'reserved') {
        work.status = 'reserved';
        return this.enqueuePayment(work);
      }
      if (outcome.outcome === 'retry') this.options.onRetryScheduled(this.options.now() + outcome.nextAttemptInMs);
      this.finish(work);
    });
  }

  private enqueuePayment(work: Work) {
    // Stopping: no new payment calls. The order stays reserved in the table; its lease is handed
    // back on deregistration and the next start (or another process) takes it up.
    if (this.stopping) return this.finish(work);
    this.payQueue.push(work);
    this.pump();
  }

  private pump() {
    while (!this.stopping && this.paying < this.options.paymentConcurrency && this.payQueue.length > 0) {
      const work = this.payQueue.shift()!;
      this.paying++;
      void this.pay(work).finally(() => {
        this.paying--;
        this.pump();
      });
    }
  }

  private async pay(work: Work) {
    const attempt = work.paymentAttempts + 1;
    const key = chargeKey(work.id);
    const started = performance.now();
    let charge: Charge | null = null;
    let failure: PaymentError | undefined;
    try {
      if (work.uncertain) charge = await this.gateway.findCharge(key);
      charge ??= await this.gateway.charge({ idempotencyKey: key, orderId: work.id, amount: work.total, currency: this.options.currency });
    } catch (error) {
      failure = error instanceof PaymentError ? error : new PaymentError(toError(error).message, 'unknown');
    }
    this.onPaymentOutcome(charge, failure, started);

    if (charge?.status === 'succeeded') return this.sell(work, charge, attempt);
    if (charge) return this.fail(work, `payment declined (charge ${charge.id})`, { status: 'declined', attempts: attempt }, false);
    const error = failure!;
    if (error.kind === 'permanent') return this.fail(work, `payment refused: ${error.message}`, { status: 'failed', attempts: attempt }, false);
    if (attempt < this.options.paymentMaxAttempts) return this.retry(work, attempt, error);
    if (error.kind === 'unknown') {
      // Out of attempts, but the last one may have charged: one more look before giving up.
      const late = await this.gateway.findCharge(key).catch(() => null);
      if (late?.status === 'succeeded') return this.sell(work, late, attempt);
    }
    // If the outcome is still unknown, the order fails now and the reconciler refunds a late charge.
    return this.fail(work, `payment gave up after ${attempt} attempts: ${error.message}`, { status: 'failed', attempts: attempt }, error.kind === 'unknown');
  }

  private onPaymentOutcome(charge: Charge | null, failure: PaymentError | undefined, started: number) {
    const label: PaymentOutcomeLabel = charge ? charge.status : failure!.kind;
    this.onPayment(label, (performance.now() - started) / 1000);
  }

  private sell(work: Work, charge: Charge, attempts: number) {
    const command = { kind: 'sell', orderId: work.id, version: work.version, items: work.items, payment: { reference: charge.id, attempts } } as const;
    this.stockStep(work, this.actors.order(command), (outcome) => {
      // Charged, but the order moved on (cancelled, or taken over): make sure the charge is settled.
      if (outcome.outcome === 'stale') this.options.reconcileNow(work.id);
      this.finish(work);
    });
  }

  private fail(work: Work, error: string, payment: { status: PaymentStatus; attempts: number }, reconcile: boolean) {
    const command = { kind: 'fail', orderId: work.id, version: work.version, items: work.items, error, payment, reconcile } as const;
    this.stockStep(work, this.actors.order(command), () => this.finish(work));
  }

  private async retry(work: Work, attempt: number, error: PaymentError) {
    const delayMs = this.options.retryDelayMs(attempt);
    try {
      const written = await this.retries.add({
        id: work.id,
        version: work.version,
        attempts: attempt,
        error: error.message,
        delayMs,
        maxAttempts: this.options.paymentMaxAttempts,
      });
      if (written) this.options.onRetryScheduled(this.options.now() + delayMs);
    } catch (failure) {
      this.options.logger.error({ err: toError(failure), orderId: work.id }, 'could not record a payment retry');
    } finally {
      this.finish(work);
    }
  }
}
