import type { StockActors } from '../../actors/stock-actors.ts';
import type { Config } from '../../config.ts';
import type { Sql } from '../../db/client.ts';
import type { Job } from '../../jobs/job.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { WarehouseClient } from './client.ts';
import { HttpWarehouseClient } from './http-client.ts';
import { SimulatedWarehouse, WarehouseStock } from './simulator.ts';
import { catalogCounts } from './warehouse.queries.ts';
import { WarehouseSync } from './warehouse.service.ts';

export type WarehouseModuleDeps = {
  sql: Sql;
  actors: StockActors;
  config: Config;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Replaces the warehouse chosen from the configuration (tests). */
  client?: WarehouseClient;
};

/** The warehouse wired: its client (WAREHOUSE_URL, or the simulator), the sync, and its job. */
export function createWarehouseModule({ sql, actors, config, clock, logger, metrics, client: given }: WarehouseModuleDeps) {
  const client =
    given ??
    (config.warehouseUrl
      ? new HttpWarehouseClient(config.warehouseUrl, config.warehouseTimeoutMs)
      : new SimulatedWarehouse(new WarehouseStock(clock), { timeoutMs: config.warehouseTimeoutMs, catalog: () => catalogCounts(sql) }));
  const sync = new WarehouseSync(sql, actors, client, metrics, { pageSize: config.warehousePageSize, logger });
  /** The scheduled sync (WAREHOUSE_SYNC_CRON); its counts are what the run adjusted. */
  const job: Job = {
    name: 'warehouse-sync',
    schedule: config.warehouseSyncCron,
    timeoutMs: config.syncRequestTimeoutMs,
    async run() {
      const run = await sync.run('schedule');
      if (run.status === 'failed') throw new Error(run.errors.at(-1)?.message ?? 'warehouse sync failed');
      return { checked: run.itemsChecked, adjusted: run.itemsAdjusted, errors: run.errors.length };
    },
  };
  let drift: ReturnType<typeof setInterval> | undefined;
  return {
    sync,
    client,
    jobs: [job],
    /** The simulated warehouse's counts drift on a timer, not per request: two syncs in a row agree. */
    start() {
      if (client instanceof SimulatedWarehouse && config.warehouseDriftIntervalMs > 0) {
        drift = setInterval(() => client.stock.drift(config.warehouseDriftRate), config.warehouseDriftIntervalMs);
        drift.unref();
      }
    },
    stop() {
      clearInterval(drift);
    },
  };
}
