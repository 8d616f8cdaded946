import type { StockActors } from '../../actors/stock-actors.ts';
import type { Config } from '../../config.ts';
import type { Sql } from '../../db/client.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { HoldExpiry } from './expiry.ts';
import type { HoldKeeper } from './hold-keeper.ts';
import { countActiveHolds } from './holds.queries.ts';
import { HoldsService } from './holds.service.ts';

export type HoldsModuleDeps = {
  sql: Sql;
  /** Built with `keeper` as their keeper: every hold change is one of their works. */
  actors: StockActors;
  keeper: HoldKeeper;
  config: Config;
  logger: Logger;
  metrics: Metrics;
};

/**
 * Holds wired: the service behind the routes, and the expiry that gives back the stock of lapsed
 * holds in every process. The keeper (`HoldKeeper`, the only writer of `holds`) is built before
 * the stock actors, which call it, and handed in here and to the orders module.
 */
export function createHoldsModule({ sql, actors, keeper, config, logger, metrics }: HoldsModuleDeps) {
  const expiry = new HoldExpiry(sql, actors, { pollMs: config.holdExpiryPollMs, logger });
  metrics.rowGauge('holds_active', 'Holds whose stock is held now (active, not expired)', () => countActiveHolds(sql));
  return {
    service: new HoldsService(sql, actors, keeper),
    expiry,
    start: () => expiry.start(),
    stop: () => expiry.stop(),
  };
}
