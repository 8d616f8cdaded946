import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FastCounter, FastHistogram } from './fast-metrics.ts';

/** A value that costs a query to know, asked at most every `ms` (a scrape every second does not count every second). */
function cachedFor<T>(ms: number, read: () => Promise<T>): () => Promise<T> {
  let last: { at: number; value: T } | undefined;
  return async () => {
    if (!last || Date.now() - last.at > ms) last = { at: Date.now(), value: await read() };
    return last.value;
  };
}

/** How long a gauge that counts rows keeps its last count. */
const ROW_COUNT_TTL_MS = 5_000;

/**
 * Everything `/metrics` exposes. Each module receives this when it is built: it observes its own
 * counters and histograms, and registers the gauges whose values only it knows.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  return {
    registry,
    /** A gauge read at each scrape from its owner (a second owner of the name replaces the first). */
    gauge(name: string, help: string, read: () => number) {
      registry.removeSingleMetric(name);
      new Gauge({ name, help, registers, collect() { this.set(read()); } });
    },
    /** A gauge that counts rows (`count` runs a query): counted at most every 5 s. */
    rowGauge(name: string, help: string, count: () => Promise<number>) {
      const cached = cachedFor(ROW_COUNT_TTL_MS, count);
      registry.removeSingleMetric(name);
      new Gauge({ name, help: `${help} (counted at most every 5 s)`, registers, async collect() { this.set(await cached()); } });
    },
    /** Rows counted per value of one label, at most every 5 s. */
    rowGaugeBy(name: string, help: string, label: string, count: () => Promise<{ key: string; n: number }[]>) {
      const cached = cachedFor(ROW_COUNT_TTL_MS, count);
      registry.removeSingleMetric(name);
      new Gauge({
        name,
        help: `${help} (counted at most every 5 s)`,
        labelNames: [label],
        registers,
        async collect() {
          const rows = await cached();
          this.reset();
          for (const row of rows) this.set({ [label]: row.key }, row.n);
        },
      });
    },
    // Observed on every request and every payment: the fast kind (fast-metrics.ts).
    httpDuration: new FastHistogram(
      'http_request_duration_seconds',
      'HTTP request durations by route and status',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    ),
    ordersAccepted: new Counter({ name: 'orders_accepted_total', help: 'Orders stored and answered 202 (the intake rate)', registers }),
    intakeBatchSize: new Histogram({ name: 'order_intake_batch_size', help: 'Orders per intake statement', buckets: [1, 2, 5, 10, 25, 50, 100, 250, 512], registers }),
    stockBatchSize: new Histogram({ name: 'stock_batch_size', help: 'Commands per stock transaction', buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500], registers }),
    stockBatches: new Counter({
      name: 'stock_batches_total',
      help: 'Stock transactions by kind: read (rows read under the locks), recalled (decided from memory, committed), redone (decided from memory, decided again)',
      labelNames: ['kind'],
      registers,
    }),
    paymentAttempts: new FastCounter('payment_attempts_total', 'Payment calls by outcome', registers),
    paymentDuration: new FastHistogram('payment_duration_seconds', 'Payment call latency by outcome', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5], registers),
    jobRuns: new Counter({ name: 'job_runs_total', help: 'Periodic job ticks by outcome (ran, skipped, failed)', labelNames: ['job', 'status'], registers }),
    jobItems: new Counter({ name: 'job_items_total', help: 'What periodic jobs did, by job and count name', labelNames: ['job', 'kind'], registers }),
    syncRuns: new Counter({ name: 'warehouse_sync_runs_total', help: 'Warehouse sync runs by result', labelNames: ['status'], registers }),
    syncAdjusted: new Counter({ name: 'warehouse_sync_items_adjusted_total', help: 'Products whose count a sync changed', registers }),
    reconciliations: new Counter({
      name: 'payment_reconciliations_total',
      help: 'Orders whose payment was checked again: refunded, cleared (nothing owed) or retry (provider unreachable)',
      labelNames: ['result'],
      registers,
    }),
    syncErrors: new Counter({ name: 'warehouse_sync_errors_total', help: 'Problems reported by sync runs (unknown SKUs, shortfalls, failed pages)', registers }),
    webhookAttempts: new Counter({
      name: 'webhook_delivery_attempts_total',
      help: 'Webhook delivery attempts by outcome: succeeded, retry (failed, tried again later), failed (gave up after the retry window)',
      labelNames: ['outcome'],
      registers,
    }),
    webhookAttemptDuration: new Histogram({
      name: 'webhook_delivery_duration_seconds',
      help: 'One webhook delivery attempt, DNS to answer, by outcome',
      labelNames: ['outcome'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    webhookLag: new Histogram({
      name: 'webhook_delivery_lag_seconds',
      help: 'From the commit of an event to its successful delivery',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers,
    }),
    holdsCreated: new Counter({ name: 'holds_created_total', help: 'Holds made (stock taken for a cart)', registers }),
    holdsConverted: new Counter({ name: 'holds_converted_total', help: 'Holds whose stock an order took', registers }),
    holdsReleased: new Counter({ name: 'holds_released_total', help: 'Holds released by a client (stock back on sale at once)', registers }),
    holdsExpired: new Counter({ name: 'holds_expired_total', help: 'Holds whose time ran out and whose stock was given back (each once)', registers }),
    webhooksDisabled: new Counter({ name: 'webhooks_disabled_total', help: 'Subscriptions disabled after failing for the whole retry window', registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
