import type { StockActors } from '../../actors/stock-actors.ts';
import { isDatabaseUnavailable, type Sql } from '../../db/client.ts';
import { backoffMs, type Backoff } from '../../lib/backoff.ts';
import { toError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { Semaphore } from '../../lib/semaphore.ts';
import { WakeTimes } from '../../lib/wake-times.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { chargeKey, PaymentError, type Charge, type PaymentGateway } from '../payments/gateway.ts';
import type { Born } from './intake-batch.ts';
import type { OrderFacts } from './order-state.ts';
import type { OrderSteps, StepOutcome } from './steps.ts';
import type { Step } from './transitions.ts';
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

/** What a payment attempt came to: the order's next step, and whether money may have moved. */
type Settlement = { step: Step; mayHaveCharged: boolean };

export type PaymentOutcomeLabel = 'succeeded' | 'declined' | 'unknown' | 'retryable' | 'permanent';

/** A stock step that could not reach the database is tried again: soon, then up to 2 s apart (the database restarting). */
const STEP_RETRY: Backoff = { baseMs: 100, maxMs: 2_000 };
/** With more orders in memory than `maxInFlight`, claiming waits this long for room. */
const BACKLOG_WAIT_MS = 200;
/** A timer for a retry fires this long after it is due: the database clock may be a little behind ours. */
const DUE_SLACK_MS = 25;
/** Retries due within this much of each other share one wake-up. */
const WAKE_GRANULARITY_MS = 50;

/**
 * The one worker of orders: it claims what is due or abandoned and carries each order through its
 * next steps (`run`): its stock, its payment, its settlement. Reserve and settle are steps under
 * the products' stock locks (`OrderSteps`); the payment is taken outside every lock and
 * transaction, with a bounded number of calls in flight. Everything here is a cache of the orders
 * table: after a crash the claims feed it again.
 */
export class OrderWorker {
  private readonly inFlight = new Map<string, Job>();
  private readonly paymentSlots: Semaphore;
  private readonly paymentSeries = new Map<PaymentOutcomeLabel, { attempts: { inc(): void }; duration: { observe(seconds: number): void } }>();
  private stopping = false;
  private idleWaiters: (() => void)[] = [];
  /** Every retry's due time: a later one is not forgotten while an earlier one is pending. */
  private readonly wakeTimes: WakeTimes;
  private sweeping: Promise<number> | undefined;
  private recovering: Promise<void> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly actors: StockActors,
    private readonly steps: OrderSteps,
    private readonly gateway: PaymentGateway,
    /** The provider must be asked about this order soon (a charge may have landed on an order that moved on). */
    private readonly reconcileNow: (orderId: string) => void,
    private readonly metrics: Metrics,
    private readonly options: WorkerOptions,
  ) {
    this.paymentSlots = new Semaphore(options.paymentConcurrency);
    this.wakeTimes = new WakeTimes(() => void this.sweep(), options.now, WAKE_GRANULARITY_MS, DUE_SLACK_MS);
  }

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

  /** Something falls due at `at` (ms since epoch): sweep then. */
  wakeAt(at: number) {
    if (!this.stopping) this.wakeTimes.add(at);
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
    this.wakeTimes.stop();
    // Orders waiting for a payment slot go home: they stay reserved, and the next start pays them.
    this.paymentSlots.open();
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
    this.recovering ??= this.handBackLost().finally(() => (this.recovering = undefined));
  }

  private async handBackLost() {
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
  }

  private async claimAll(asOf: Date | undefined, kind: ClaimKind): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const room = this.options.maxInFlight - this.inFlight.size;
        if (room <= 0) {
          this.wakeAt(this.options.now() + BACKLOG_WAIT_MS);
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
    this.steps.remember(order);
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
    void this.run(job).finally(() => this.finish(job));
  }

  private finish(job: Job) {
    if (this.inFlight.get(job.facts.id) === job) this.inFlight.delete(job.facts.id);
    if (this.inFlight.size === 0) this.idleWaiters.splice(0).forEach((resolve) => resolve());
  }

  /** One order's way through this process, top to bottom: its stock, its payment, its settlement. */
  private async run(job: Job): Promise<void> {
    if (job.status === 'pending' && !(await this.reserve(job))) return;
    const release = await this.paymentSlots.acquire();
    let settlement: Settlement;
    try {
      // Stopping: no new payment calls. The order stays reserved; its lease is handed back on the way out.
      if (this.stopping) return;
      settlement = await this.pay(job);
    } finally {
      release();
    }
    const outcome = await this.step(job, settlement.step);
    if (outcome?.outcome === 'retry') this.wakeAt(this.options.now() + outcome.nextAttemptInMs);
    // Money may have moved for an order that moved on meanwhile (cancelled, taken over): the reconciler settles it.
    if (outcome?.outcome === 'stale' && settlement.mayHaveCharged) this.reconcileNow(job.facts.id);
  }

  /** pending → reserved; true when the order goes on to its payment now. */
  private async reserve(job: Job): Promise<boolean> {
    const outcome = await this.step(job, { kind: 'reserve', version: job.version });
    if (outcome?.outcome === 'moved' && outcome.status === 'reserved') {
      job.status = 'reserved';
      return true;
    }
    if (outcome?.outcome === 'retry') this.wakeAt(this.options.now() + outcome.nextAttemptInMs);
    return false;
  }

  /** One payment attempt (looking first, when an earlier one may have charged), and the step it calls for. */
  private async pay(job: Job): Promise<Settlement> {
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
    this.observePayment(charge ? charge.status : failure!.kind, (performance.now() - started) / 1000);

    const version = job.version;
    const sell = (paid: Charge): Settlement => ({ step: { kind: 'sell', version, charge: paid.id, attempts: attempt }, mayHaveCharged: true });
    const fail = (error: string, status: 'declined' | 'failed', unknown: boolean): Settlement => ({
      step: { kind: 'fail', version, error, payment: { status, attempts: attempt }, reconcile: unknown },
      mayHaveCharged: unknown,
    });
    if (charge?.status === 'succeeded') return sell(charge);
    if (charge) return fail(`payment declined (charge ${charge.id})`, 'declined', false);
    const error = failure!;
    if (error.kind === 'permanent') return fail(`payment refused: ${error.message}`, 'failed', false);
    if (attempt < this.options.paymentMaxAttempts) {
      const delayMs = this.options.retryDelayMs(attempt);
      const step: Step = { kind: 'retry-payment', version, attempts: attempt, maxAttempts: this.options.paymentMaxAttempts, error: error.message, delayMs };
      return { step, mayHaveCharged: error.kind === 'unknown' };
    }
    if (error.kind === 'unknown') {
      // Out of attempts, but the last one may have charged: one more look before giving up.
      const late = await this.gateway.findCharge(key).catch(() => null);
      if (late?.status === 'succeeded') return sell(late);
    }
    // If the outcome is still unknown, the order fails now and the reconciler refunds a late charge.
    return fail(`payment gave up after ${attempt} attempts: ${error.message}`, 'failed', error.kind === 'unknown');
  }

  /**
   * A step of the order under its stock locks. The database being away is not the order's fault:
   * the step is tried again, with backoff, while this process still holds the order's lease. Null
   * when it gave up: the order is resumed by whoever claims it once its lease runs out.
   */
  private async step(job: Job, step: Step): Promise<StepOutcome | null> {
    for (let tries = 1; ; tries++) {
      try {
        const outcome = await this.actors.submit(this.steps.work(job.facts.id, job.facts.items, step), { admit: false });
        if ('version' in outcome) job.version = outcome.version;
        return outcome;
      } catch (error) {
        if (isDatabaseUnavailable(error) && !this.stopping) {
          this.recoverLost();
          const delay = backoffMs(tries, STEP_RETRY);
          if (this.options.now() + delay < job.leaseUntil) {
            await Bun.sleep(delay);
            continue;
          }
        }
        this.options.logger.error({ err: toError(error), orderId: job.facts.id, step: step.kind }, 'order step failed; the order is resumed when its lease runs out');
        return null;
      }
    }
  }

  private observePayment(outcome: PaymentOutcomeLabel, seconds: number) {
    let series = this.paymentSeries.get(outcome);
    if (!series) {
      series = { attempts: this.metrics.paymentAttempts.child({ outcome }), duration: this.metrics.paymentDuration.child({ outcome }) };
      this.paymentSeries.set(outcome, series);
    }
    series.attempts.inc();
    series.duration.observe(seconds);
  }
}
