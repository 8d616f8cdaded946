import type { Config } from '../../config.ts';
import type { Sql } from '../../db/client.ts';
import type { Job } from '../../jobs/job.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Capabilities } from '../capabilities.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { pendingCount, pruneDeliveries } from './deliveries.queries.ts';
import { WebhookDispatcher } from './dispatcher.ts';
import { OutboundPolicy, systemResolver, type Resolver } from './outbound.ts';
import { WebhooksService } from './webhooks.service.ts';

export type WebhooksDeps = {
  sql: Sql;
  capabilities: Capabilities;
  config: Config;
  clock: Clock;
  /** This process's incarnation (the owner of its delivery leases). */
  owner: string;
  logger: Logger;
  metrics: Metrics;
  version: string;
  /** DNS (tests hand in their own). */
  resolve?: Resolver;
};

/** Finished deliveries deleted per run: the next run (10 minutes later) takes the rest. */
const PRUNE_LIMIT = 10_000;

/** Webhooks wired: the service behind the routes, the dispatcher, the delivery-log prune job. */
export function createWebhooksModule(deps: WebhooksDeps) {
  const { sql, config, metrics } = deps;
  const settings = config.webhooks;
  const policy = new OutboundPolicy({ allowPrivate: settings.allowPrivate, resolve: deps.resolve ?? systemResolver, dnsTimeoutMs: settings.dnsTimeoutMs });
  const dispatcher = new WebhookDispatcher(sql, policy, metrics, {
    owner: deps.owner,
    heartbeatTtlMs: config.heartbeatTtlMs,
    clock: deps.clock,
    config: settings,
    userAgent: `Stockroom-Webhooks/${deps.version}`,
    logger: deps.logger,
  });
  const service = new WebhooksService(sql, policy, deps.capabilities, deps.clock, () => void dispatcher.claim());
  const enabled = deps.capabilities.webhooks;
  if (enabled) metrics.rowGauge('webhook_deliveries_pending', 'Webhook deliveries waiting to be sent or retried, all subscriptions', () => pendingCount(sql));

  /** Finished deliveries older than their retention, a capped batch per run (waiting ones stay). */
  const pruneJob: Job = {
    name: 'webhook-deliveries-prune',
    schedule: config.pruneCron,
    run: async (asOf) => ({ deleted: enabled ? await pruneDeliveries(sql, { olderThanMs: settings.deliveryRetentionMs, limit: PRUNE_LIMIT, asOf }) : 0 }),
  };

  return {
    service,
    dispatcher,
    policy,
    jobs: [pruneJob],
    start() {
      if (enabled) dispatcher.start();
    },
    stop: (timeoutMs: number) => (enabled ? dispatcher.stop(timeoutMs) : Promise.resolve()),
  };
}
