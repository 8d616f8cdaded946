import type { StockActors } from '../../actors/stock-actors.ts';
import { isDatabaseUnavailable, type Sql } from '../../db/client.ts';
import { toError } from '../../lib/errors.ts';
import { backoffMs, type Backoff } from '../../lib/backoff.ts';
import type { Logger } from '../../lib/logger.ts';
import { chargeKey, PaymentError, type Charge, type PaymentGateway } from '../payments/gateway.ts';
import type { Born } from './intake.ts';
import type { OrderFacts, PaymentStatus } from './order-state.ts';
import type { OrderSteps, Step, StepOutcome } from './transitions.ts';
import { claimDueOrders, releaseLost, type ClaimedOrder, type ClaimKind } from './work.queries.ts';

export type WorkerOptions = {
  owner: string;
  leaseMs: number;
  heartbeatTtlMs: number;
  paymentMaxAttempts: number;
  paymentConcurrency: number;
  currency: string;
  /** Backoff before payment attempt `attempt + 1` (the service's one backoff formula). */
  retryDelayMs(attempt: number): number;
  /** Orders claimed per statement. */
  claimBatch: number;
  /** Claim no more while this many orders are in memory (memory stays bounded). */
  maxInFlight: number;
  logger: Logger;
  now(): number;
};

/** An order this process is working on. All of it can be lost at any moment: the table is the record. */
type Job = {
  facts: OrderFacts;
  status: 'pending' | 'reserved';
  version: number;
  paymentAttempts: number;
  /** A previous payment attempt may have charged: ask the provider before charging again. */
  uncertain: boolean;
  /** When this process's lease on it runs out (process clock, with a margin). */
  leaseUntil: number;
};

export type PaymentOutcomeLabel = 'succeeded' | 'declined' | 'unknown' | 'retryable' | 'permanent';

/** A stock step that could not reach the database is tried again: soon, then up to 2 s apart (the database restarting). */
const STEP_RETRY: Backoff = { baseMs: 100, maxMs: 2_000 };

/**
 * The one worker of orders: it claims what is due or abandoned, runs each order's next step and
 * settles it. Reserve and settle are steps under the products' stock locks (`OrderSteps`); the
 * payment is taken outside every lock and transaction, with a bounded number of calls in flight.
 * Everything here is a cache of the orders table: after a crash the claims feed it again.
 */
export class OrderWorker {
  private readonly inFlight = new Map<string, Job>();
  private readonly payQueue: Job[] = [];
  private paying = 0;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private wakeTime = Number.POSITIVE_INFINITY;
  private sweeping: Promise<number> | undefined;
  private recovering: Promise<void> | undefined;
  /** Observer for metrics. */
  onPayment: (outcome: PaymentOutcomeLabel, seconds: number) => void = () => {};

  constructor(
    private readonly sql: Sql,
    private readonly actors: StockActors,
    private readonly steps: OrderSteps,
    private readonly gateway: PaymentGateway,
    /** The provider must be asked about this order soon (a charge may have landed on an order that moved on). */
    private readonly reconcileNow: (orderId: string) => void,
    private readonly options: WorkerOptions,
  ) {}

  get size(): number {
    return this.inFlight.size;
  }

  /** An order just stored by the intake: a reserved one is paid now, a pending one waits for its retry. */
  accept(born: Born) {
    if (born.status === 'reserved') {
      this.start({ facts: born.facts, status: 'reserved', version: born.version, paymentAttempts: 0, uncertain: false, leaseUntil: this.leaseFromNow() });
    } else if (born.status === 'pending' && born.nextAttemptInMs !== null) {
      this.wakeAt(this.options.now() + born.nextAttemptInMs);
    }
  }

  /** Something falls due at `at` (ms since epoch): sweep then (slightly after, for clock skew). */
  wakeAt(at: number) {
    if (this.stopping || at >= this.wakeTime) return;
    this.wakeTime = at;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.wakeTime = Number.POSITIVE_INFINITY;
      void this.sweep();
    }, Math.max(0, at - this.options.now()) + 25);
  }

  /** Claims and resumes orders of `kind` until none are left or the worker is full. */
  sweep(asOf?: Date, kind: ClaimKind = 'any'): Promise<number> {
    if (this.stopping) return Promise.resolve(0);
    if (this.sweeping) return this.sweeping.then(() => this.sweep(asOf, kind));
    this.sweeping = this.claimAll(asOf, kind).finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** Stops taking work; waits (up to the deadline) for payment calls and stock steps under way. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    for (const job of this.payQueue.splice(0)) this.finish(job);
    if (this.inFlight.size > 0) {
      await Promise.race([new Promise<void>((resolve) => this.idleWaiters.push(resolve)), Bun.sleep(deadlineMs)]);
    }
  }

  /**
   * After the database was unreachable, some writes may have committed without this process
   * hearing of it (an order stored, a step taken): those orders are leased to this process but in
   * nobody's hands. Once the database answers again, their leases go back and a sweep takes them.
   */
  recoverLost() {
    this.recovering ??= (async () => {
      for (let attempt = 1; !this.stopping; attempt++) {
        await Bun.sleep(backoffMs(attempt, STEP_RETRY));
        try {
          const released = await releaseLost(this.sql, this.options.owner, new Set(this.inFlight.keys()));
          if (released > 0) this.options.logger.warn({ released }, 'orders whose answer was lost with the database were handed back');
          void this.sweep();
          return;
        } catch (error) {
          if (!isDatabaseUnavailable(error)) {
            this.options.logger.error({ err: toError(error) }, 'could not hand back orders after a database outage');
            return;
          }
        }
      }
    })().finally(() => (this.recovering = undefined));
  }

  private async claimAll(asOf: Date | undefined, kind: ClaimKind): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const room = this.options.maxInFlight - this.inFlight.size;
        if (room <= 0) {
          this.wakeAt(this.options.now() + 200); // backlog: come back when there is room
          break;
        }
        const limit = Math.min(this.options.claimBatch, room);
        const claimed = await claimDueOrders(this.sql, { ...this.options, kind, limit, asOf });
        total += claimed.length;
        for (const order of claimed) this.resume(order);
        if (claimed.length < limit) break;
      }
    } catch (error) {
      this.options.logger.error({ err: toError(error) }, 'order sweep failed');
    }
    return total;
  }

  private resume(order: ClaimedOrder) {
    if (order.status !== 'pending' && order.status !== 'reserved') return;
    this.start({
      facts: { id: order.id, customerId: order.customerId, items: order.items, total: order.total, createdAt: order.createdAt },
      status: order.status,
      version: order.version,
      paymentAttempts: order.paymentAttempts,
      // Whoever held a reserved order may have charged it: look before charging.
      uncertain: order.status === 'reserved',
      leaseUntil: this.leaseFromNow(),
    });
  }

  private leaseFromNow(): number {
    // The lease is counted by the database clock; a margin keeps this process on the safe side of it.
    return this.options.now() + this.options.leaseMs * 0.8;
  }

  private start(job: Job) {
    if (this.stopping) return;
    // A newer claim replaces an older copy; the older one's writes are fenced out by version.
    this.inFlight.set(job.facts.id, job);
    if (job.status === 'pending') this.reserve(job);
    else this.enqueuePayment(job);
  }

  private finish(job: Job) {
    if (this.inFlight.get(job.facts.id) === job) this.inFlight.delete(job.facts.id);
    if (this.inFlight.size === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
  }

  /**
   * A step of the order under its stock locks. The database being away is not the order's fault:
   * the step is tried again, with backoff, while this process still holds the order's lease (after
   * that, whoever claims it carries on). Any other failure leaves the order to its lease's expiry.
   */
  private step(job: Job, step: Step, next: (outcome: StepOutcome) => void, tries = 0) {
    this.actors.submit(this.steps.work(job.facts.id, job.facts.items, step), { admit: false }).then(
      (outcome) => {
        if ('version' in outcome) job.version = outcome.version;
        next(outcome);
      },
      (error: unknown) => {
        if (isDatabaseUnavailable(error) && !this.stopping) {
          this.recoverLost();
          const delay = backoffMs(tries + 1, STEP_RETRY);
          if (this.options.now() + delay < job.leaseUntil) {
            setTimeout(() => this.step(job, step, next, tries + 1), delay);
            return;
          }
        }
        this.options.logger.error({ err: toError(error), orderId: job.facts.id, step: step.kind }, 'order step failed; the order is resumed when its lease runs out');
        this.finish(job);
      },
    );
  }

  private reserve(job: Job) {
    this.step(job, { kind: 'reserve', version: job.version }, (outcome) => {
      if (outcome.outcome === 'moved' && outcome.status === 'reserved') {
        job.status = 'reserved';
        return this.enqueuePayment(job);
      }
      if (outcome.outcome === 'retry') this.wakeAt(this.options.now() + outcome.nextAttemptInMs);
      this.finish(job);
    });
  }

  private enqueuePayment(job: Job) {
    // Stopping: no new payment calls. The order stays reserved in the table; its lease is handed
    // back on the way out and the next start (or another process) takes it up.
    if (this.stopping) return this.finish(job);
    this.payQueue.push(job);
    this.pump();
  }

  private pump() {
    while (!this.stopping && this.paying < this.options.paymentConcurrency && this.payQueue.length > 0) {
      const job = this.payQueue.shift()!;
      this.paying++;
      void this.pay(job).finally(() => {
        this.paying--;
        this.pump();
      });
    }
  }

  private async pay(job: Job) {
    const attempt = job.paymentAttempts + 1;
    const key = chargeKey(job.facts.id);
    const started = performance.now();
    let charge: Charge | null = null;
    let failure: PaymentError | undefined;
    try {
      if (job.uncertain) charge = await this.gateway.findCharge(key);
      charge ??= await this.gateway.charge({ idempotencyKey: key, orderId: job.facts.id, amount: job.facts.total, currency: this.options.currency });
    } catch (error) {
      failure = error instanceof PaymentError ? error : new PaymentError(toError(error).message, 'unknown');
    }
    this.onPayment(charge ? charge.status : failure!.kind, (performance.now() - started) / 1000);

    if (charge?.status === 'succeeded') return this.sell(job, charge, attempt);
    if (charge) return this.fail(job, `payment declined (charge ${charge.id})`, { status: 'declined', attempts: attempt }, false);
    const error = failure!;
    if (error.kind === 'permanent') return this.fail(job, `payment refused: ${error.message}`, { status: 'failed', attempts: attempt }, false);
    if (attempt < this.options.paymentMaxAttempts) return this.retryPayment(job, attempt, error);
    if (error.kind === 'unknown') {
      // Out of attempts, but the last one may have charged: one more look before giving up.
      const late = await this.gateway.findCharge(key).catch(() => null);
      if (late?.status === 'succeeded') return this.sell(job, late, attempt);
    }
    // If the outcome is still unknown, the order fails now and the reconciler refunds a late charge.
    return this.fail(job, `payment gave up after ${attempt} attempts: ${error.message}`, { status: 'failed', attempts: attempt }, error.kind === 'unknown');
  }

  private sell(job: Job, charge: Charge, attempts: number) {
    this.step(job, { kind: 'sell', version: job.version, charge: charge.id, attempts }, (outcome) => {
      // Charged, but the order moved on (cancelled, or taken over): the charge must be settled.
      if (outcome.outcome === 'stale') this.reconcileNow(job.facts.id);
      this.finish(job);
    });
  }

  private fail(job: Job, error: string, payment: { status: PaymentStatus; attempts: number }, unknown: boolean) {
    this.step(job, { kind: 'fail', version: job.version, error, payment, reconcile: unknown }, (outcome) => {
      // The last call's outcome is unknown and the order moved on meanwhile: a charge may still land on it.
      if (outcome.outcome === 'stale' && unknown) this.reconcileNow(job.facts.id);
      this.finish(job);
    });
  }

  private retryPayment(job: Job, attempt: number, error: PaymentError) {
    const delayMs = this.options.retryDelayMs(attempt);
    const step: Step = { kind: 'retry-payment', version: job.version, attempts: attempt, maxAttempts: this.options.paymentMaxAttempts, error: error.message, delayMs };
    this.step(job, step, (outcome) => {
      if (outcome.outcome === 'retry') this.wakeAt(this.options.now() + outcome.nextAttemptInMs);
      // Cancelled or taken over while the call was out, with an outcome nobody knows: look later.
      if (outcome.outcome === 'stale' && error.kind === 'unknown') this.reconcileNow(job.facts.id);
      this.finish(job);
    });
  }
}

