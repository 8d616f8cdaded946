import type { Config } from '../../config.ts';
import type { Sql } from '../../db/client.ts';
import type { Job } from '../../jobs/job.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Capabilities } from '../capabilities.ts';
import { EventHub } from './event-hub.ts';
import { pruneEvents } from './events.queries.ts';

/** Outbox rows deleted per run: the next run (10 minutes later) takes the rest. */
const PRUNE_LIMIT = 10_000;

/** The outbox's readers and its keeper: the hub behind `GET /api/v1/events`, and the prune job. */
export function createEventsModule({ sql, config, capabilities, logger }: { sql: Sql; config: Config; capabilities: Capabilities; logger: Logger }) {
  const hub = new EventHub(sql, logger);
  /**
   * Events past their retention (streams resume within it), except those a webhook subscription
   * has not taken yet, which stay up to WEBHOOK_EVENT_HOLD_MAX_MS (before migration 0004 there are
   * no subscriptions to wait for).
   */
  const outboxPrune: Job = {
    name: 'outbox-prune',
    schedule: config.pruneCron,
    run: async (asOf) => ({
      events: await pruneEvents(sql, {
        olderThanMs: config.eventsRetentionMs,
        holdMaxMs: capabilities.webhooks ? config.webhooks.eventHoldMaxMs : undefined,
        limit: PRUNE_LIMIT,
        asOf,
      }),
    }),
  };
  return { hub, jobs: [outboxPrune], stop: () => hub.close() };
}
