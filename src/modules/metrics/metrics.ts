import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Sql } from '../../db/client.ts';
import { FastCounter, FastHistogram } from './fast-metrics.ts';

export type MetricsSources = {
  sql: Sql;
  mailboxDepth(): number;
  mailboxes(): number;
  pipelineInFlight(): number;
  /** Webhook deliveries waiting to be sent or retried (undefined before migration 0004). */
  webhookPending?(): Promise<number>;
};

const ORDER_COUNT_TTL_MS = 5_000;

/**
 * Everything `/metrics` exposes. Services do not import this: they expose small hooks
 * (`onBatch`, `onPayment`, `onRun`) and `service.ts` connects them here.
 */
export function createMetrics(sources: MetricsSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  let orderCounts: { at: number; rows: { status: string; n: number }[] } | undefined;
  new Gauge({
    name: 'orders_by_status',
    help: 'Orders in each status (counted at most every 5 s)',
    labelNames: ['status'],
    registers,
    async collect() {
      if (!orderCounts || Date.now() - orderCounts.at > ORDER_COUNT_TTL_MS) {
        const rows = await sources.sql<{ status: string; n: number }[]>`SELECT status, count(*)::int AS n FROM orders GROUP BY status`;
        orderCounts = { at: Date.now(), rows: [...rows] };
      }
      this.reset();
      for (const row of orderCounts.rows) this.set({ status: row.status }, row.n);
    },
  });
  new Gauge({ name: 'stock_mailbox_depth', help: 'Stock commands queued in all product mailboxes', registers, collect() { this.set(sources.mailboxDepth()); } });
  new Gauge({ name: 'stock_mailboxes', help: 'Product mailboxes alive', registers, collect() { this.set(sources.mailboxes()); } });
  new Gauge({ name: 'order_pipeline_in_flight', help: 'Orders this process is working on', registers, collect() { this.set(sources.pipelineInFlight()); } });
  let webhookPending: { at: number; n: number } | undefined;
  new Gauge({
    name: 'webhook_deliveries_pending',
    help: 'Webhook deliveries waiting to be sent or retried, all subscriptions (counted at most every 5 s)',
    registers,
    async collect() {
      if (!sources.webhookPending) return;
      if (!webhookPending || Date.now() - webhookPending.at > ORDER_COUNT_TTL_MS) webhookPending = { at: Date.now(), n: await sources.webhookPending() };
      this.set(webhookPending.n);
    },
  });

  return {
    registry,
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
    webhooksDisabled: new Counter({ name: 'webhooks_disabled_total', help: 'Subscriptions disabled after failing for the whole retry window', registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
