import type { WarehouseSync } from '../modules/warehouse/warehouse.service.ts';
import type { Job } from './job.ts';

/** The scheduled warehouse sync (WAREHOUSE_SYNC_CRON); counts are what its run adjusted. */
export const warehouseSyncJob = (warehouse: WarehouseSync, schedule: string, timeoutMs: number): Job => ({
  name: 'warehouse-sync',
  schedule,
  timeoutMs,
  async run() {
    const run = await warehouse.run('schedule');
    if (run.status === 'failed') throw new Error(run.errors.at(-1)?.message ?? 'warehouse sync failed');
    return { checked: run.itemsChecked, adjusted: run.itemsAdjusted, errors: run.errors.length };
  },
});
