import type { Sql } from '../../db/client.ts';
import type { WebhookConfig } from '../../config.ts';
import { toError } from '../../lib/errors.ts';
import { Batcher } from '../../lib/batcher.ts';
import { backoffMs } from '../../lib/backoff.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { claimDeliveries, disableFailing, recordOutcomes, releaseLeases, type Claimed, type Outcome } from './deliveries.queries.ts';
import { fillStep } from './enqueue.ts';
import type { OutboundPolicy } from './outbound.ts';
import { sendDelivery } from './sender.ts';
import { signatureHeaders } from './signing.ts';

export type DispatcherOptions = {
  /** This process's incarnation: the owner of its leases (void once its heartbeat stops). */
  owner: string;
  heartbeatTtlMs: number;
  clock: Clock;
  config: WebhookConfig;
  userAgent: string;
  logger: Logger;
};

/** A claim outlives its send (DNS, the attempt's timeout) by this much: recording the outcome takes a moment too. */
const LEASE_SLACK_MS = 5_000;
/** Outcomes are recorded a batch at a time (one transaction for hundreds of sends), two batches at once. */
const OUTCOME_BATCHES = { maxBatch: 500, lingerMs: 2, maxInFlight: 2 };

/** What an attempt came to, for the metrics: `retry` failed and will be tried again, `failed` gave up. */
export type AttemptOutcome = 'succeeded' | 'retry' | 'failed';

/**
 * Delivers the outbox to the subscriptions, in every process at once:
 * - the enqueuer (`fillStep`) writes each subscription's deliveries from its cursor, in commit order;
 * - the claimer takes due deliveries, at most `maxInFlight` per subscription in this process, so a
 *   slow or dead endpoint holds only its own slots and never another subscription's or an order's;
 * - each send is signed, bounded by its timeout, and its outcome recorded in batches, fenced on
 *   the claim. A success lets the next event of the same order or product go.
 * Everything is in the database: a process killed mid-send leaves a lease that runs out (or dies
 * with its heartbeat), and whoever claims next sends it again.
 */
export class WebhookDispatcher {
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly inFlight = new Map<string, number>();
  private readonly sends = new Set<Promise<void>>();
  private filling: Promise<void> | undefined;
  private claiming = false;
  private claimAgain = false;
  private stopped = false;
  private readonly outcomes: Batcher<Outcome, void>;

  constructor(
    private readonly sql: Sql,
    private readonly policy: OutboundPolicy,
    private readonly metrics: Metrics,
    private readonly options: DispatcherOptions,
  ) {
    this.outcomes = new Batcher((items) => this.record(items), OUTCOME_BATCHES);
  }

  get sending(): number {
    return this.sends.size;
  }

  start() {
    if (this.options.config.allowPrivate) this.options.logger.warn('WEBHOOK_ALLOW_PRIVATE=true: webhooks may call this host and its private networks');
    this.timer = setInterval(() => void this.tick(), this.options.config.pollMs);
    void this.tick();
  }

  /** One round: new events become deliveries, due deliveries go out. Tests call it instead of waiting. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    await this.fill();
    await this.claim();
  }

  /** Writes deliveries from the outbox until it is caught up (one step at a time in this process). */
  fill(): Promise<void> {
    this.filling ??= (async () => {
      try {
        const now = () => new Date(this.options.clock.now());
        for (let more = true; more && !this.stopped; ) {
          const step = await fillStep(this.sql, this.options.config.enqueueBatch, now);
          // Sending starts with the first step: a busy outbox must not keep deliveries waiting for the enqueuer to catch up.
          if (step.written > 0) void this.claim();
          more = step.more;
        }
      } catch (error) {
        this.options.logger.warn({ err: toError(error) }, 'webhook enqueue failed');
      } finally {
        this.filling = undefined;
      }
    })();
    return this.filling;
  }

  /** Claims what is due and starts sending it; a call while one runs makes that one go round again. */
  async claim(): Promise<void> {
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    this.claiming = true;
    try {
      do {
        this.claimAgain = false;
        const { config, clock, owner, heartbeatTtlMs } = this.options;
        const claimed = await claimDeliveries(this.sql, {
          owner,
          now: new Date(clock.now()),
          leaseMs: config.timeoutMs + config.dnsTimeoutMs + LEASE_SLACK_MS,
          heartbeatTtlMs,
          inFlight: this.inFlight,
          room: config.maxInFlight,
        });
        for (const delivery of claimed) this.launch(delivery);
      } while (this.claimAgain && !this.stopped);
    } catch (error) {
      this.options.logger.warn({ err: toError(error) }, 'webhook claim failed');
    } finally {
      this.claiming = false;
    }
  }

  private launch(delivery: Claimed) {
    this.inFlight.set(delivery.webhookId, (this.inFlight.get(delivery.webhookId) ?? 0) + 1);
    const send = this.deliver(delivery).finally(() => {
      const left = (this.inFlight.get(delivery.webhookId) ?? 1) - 1;
      if (left > 0) this.inFlight.set(delivery.webhookId, left);
      else this.inFlight.delete(delivery.webhookId);
      this.sends.delete(send);
      // Its outcome is recorded: the next event of its order or product may go now, and its slot is free.
      if (!this.stopped) void this.claim();
    });
    this.sends.add(send);
  }

  private async deliver(delivery: Claimed): Promise<void> {
    const { clock, config } = this.options;
    const started = performance.now();
    const headers = signatureHeaders(delivery.eventId, delivery.body, delivery.secrets, new Date(clock.now()));
    let outcome: Outcome;
    try {
      const attempt = await sendDelivery(this.policy, delivery.url, headers, delivery.body, {
        timeoutMs: config.timeoutMs,
        excerptBytes: config.excerptBytes,
        userAgent: this.options.userAgent,
      });
      const now = clock.now();
      const attempts = delivery.attempts + 1;
      const gaveUp = !attempt.ok && now - (delivery.firstAttemptMs ?? now) >= config.retryWindowMs;
      const status = attempt.ok ? 'succeeded' : gaveUp ? 'failed' : 'pending';
      outcome = {
        id: delivery.id,
        version: delivery.version,
        webhookId: delivery.webhookId,
        status,
        at: new Date(now),
        responseStatus: attempt.status,
        excerpt: attempt.excerpt,
        error: attempt.error,
        nextAttemptAt: status === 'pending' ? new Date(now + backoffMs(attempts, { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs }, clock.random)) : null,
      };
      const result: AttemptOutcome = attempt.ok ? 'succeeded' : gaveUp ? 'failed' : 'retry';
      this.metrics.webhookAttempts.inc({ outcome: result });
      this.metrics.webhookAttemptDuration.observe({ outcome: result }, (performance.now() - started) / 1000);
      if (attempt.ok) this.metrics.webhookLag.observe(Math.max(0, (now - delivery.occurredMs) / 1000));
    } catch (error) {
      // Not the receiver's doing (a bug here): the lease runs out and the delivery is tried again.
      this.options.logger.error({ err: toError(error), delivery: delivery.id }, 'webhook delivery crashed');
      return;
    }
    try {
      await this.outcomes.add(outcome);
    } catch (error) {
      this.options.logger.warn({ err: toError(error), delivery: delivery.id }, 'could not record a webhook attempt; it is sent again once its lease runs out');
    }
  }

  /**
   * One batch of outcomes, and the subscriptions failing for the whole window disabled, in one
   * transaction: a delivery that gives up lets the next one of its order go, and no claim may see
   * that before it sees its subscription disabled.
   */
  private async record(outcomes: Outcome[]): Promise<void[]> {
    const { config, clock } = this.options;
    const failing = [...new Set(outcomes.filter((o) => o.status !== 'succeeded').map((o) => o.webhookId))];
    const disabled = await this.sql.begin(async (tx) => {
      await recordOutcomes(tx, outcomes);
      return disableFailing(tx, failing, new Date(clock.now() - config.retryWindowMs), Math.round(config.retryWindowMs / 3_600_000));
    });
    for (const id of disabled) {
      this.options.logger.warn({ webhook: id }, 'webhook disabled: no delivery succeeded within the retry window');
      this.metrics.webhooksDisabled.inc();
    }
    return outcomes.map(() => undefined);
  }

  /** Stops claiming, lets sends under way finish (up to `timeoutMs`), records them, hands back what is still held. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.race([Promise.allSettled([...this.sends]), Bun.sleep(timeoutMs)]);
    await Promise.allSettled([this.filling, this.outcomes.drain()]);
    await releaseLeases(this.sql, this.options.owner).catch((error: unknown) => this.options.logger.warn({ err: toError(error) }, 'could not hand back webhook leases'));
  }
}
