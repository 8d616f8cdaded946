import type { StockActors } from '../../actors/stock-actors.ts';
import { syncStock, type SyncOutcome } from '../../actors/stock-commands.ts';
import { iso, type Sql } from '../../db/client.ts';
import { toError } from '../../lib/errors.ts';
import { decodeCursor, isUuidKey, pageOf } from '../../lib/paging.ts';
import type { Logger } from '../../lib/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { WarehouseClient } from './client.ts';
import * as q from './warehouse.queries.ts';

export type SyncRun = Omit<q.SyncRunRow, 'trigger'> & { trigger: string };

const view = (row: q.SyncRunRow): SyncRun => ({ ...row, startedAt: iso(row.startedAt), finishedAt: iso(row.finishedAt) });

/** A run still `running` after this long belongs to a process that died mid-sync. */
const STALE_RUN_MS = 15 * 60_000;

export type WarehouseSyncOptions = { pageSize: number; logger: Logger };

/**
 * Reconciles stock with the warehouse, which holds the true physical counts. Each product's count
 * goes through its stock actor (a `sync` command), so it is serialised with reservations and
 * sales: the difference becomes a `warehouse-sync` movement carrying the run's id.
 *
 * Policy when the warehouse counts less than open orders hold: `on_hand` is held at what is
 * reserved (the `reserved <= onHand` rule cannot break) and the shortfall is reported in the run's
 * errors for someone to look at. A page that cannot be read stops the run: `partial` when earlier
 * pages were applied, `failed` when none were; counts already applied are correct on their own.
 */
export class WarehouseSync {
  private current: Promise<SyncRun> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly actors: StockActors,
    private readonly client: WarehouseClient,
    private readonly metrics: Metrics,
    private readonly options: WarehouseSyncOptions,
  ) {}

  /** Runs a sync now; a call while one is running in this process gets that run's result. */
  run(trigger: 'manual' | 'schedule'): Promise<SyncRun> {
    this.current ??= this.sync(trigger).finally(() => (this.current = undefined));
    return this.current;
  }

  async list(query: { limit?: number; cursor?: string }) {
    const limit = query.limit ?? 50;
    const before = decodeCursor(query.cursor, isUuidKey);
    return pageOf(await q.listSyncRuns(this.sql, before?.[0], limit + 1), limit, view, (row) => [row.id]);
  }

  private async sync(trigger: string): Promise<SyncRun> {
    await q.abandonStaleRuns(this.sql, STALE_RUN_MS);
    const run = await q.startSyncRun(this.sql, Bun.randomUUIDv7(), trigger);
    const errors: q.SyncError[] = [];
    const seen = new Set<string>();
    let itemsChecked = 0;
    let itemsAdjusted = 0;
    let pages = 0;
    let failure: string | undefined;
    let cursor: string | null = null;
    for (;;) {
      let page;
      try {
        page = await this.client.fetchPage(cursor, this.options.pageSize);
      } catch (error) {
        failure = toError(error).message;
        break;
      }
      pages++;
      const catalog = new Map((await q.productsBySku(this.sql, page.items.map((i) => i.sku))).map((p) => [p.sku.toLowerCase(), p]));
      const work = page.items.flatMap((item) => {
        const key = item.sku.toLowerCase();
        if (seen.has(key)) {
          errors.push({ sku: item.sku, message: 'reported twice in one run; the first count was used' });
          return [];
        }
        seen.add(key);
        const product = catalog.get(key);
        if (!product) {
          errors.push({ sku: item.sku, message: 'unknown SKU: not in the catalog; ignored' });
          return [];
        }
        return [{ item, product }];
      });
      const outcomes = await Promise.allSettled(
        work.map(({ item, product }) =>
          this.actors.submit(syncStock(product.id, item.onHand, run.id), { admit: false }),
        ),
      );
      outcomes.forEach((outcome, i) => {
        const { item } = work[i]!;
        if (outcome.status === 'rejected') {
          errors.push({ sku: item.sku, message: `not applied: ${toError(outcome.reason).message}` });
          return;
        }
        const result: SyncOutcome = outcome.value;
        itemsChecked++;
        if (result.delta !== 0) itemsAdjusted++;
        if (result.shortfall > 0) {
          const sold = result.awaitingShipment > 0 ? ` plus the ${result.awaitingShipment} sold awaiting shipment` : '';
          errors.push({
            sku: item.sku,
            message: `warehouse counts ${item.onHand}, below the ${result.reserved} reserved by open orders${sold}: on hand held at ${result.onHand}, short by ${result.shortfall}`,
          });
        }
      });
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    if (failure) errors.push({ sku: null, message: `stopped after ${pages} page(s): ${failure}` });
    const status = failure ? (pages > 0 ? 'partial' : 'failed') : 'succeeded';
    const finished = view(await q.finishSyncRun(this.sql, { id: run.id, status, itemsChecked, itemsAdjusted, errors }));
    this.options.logger.info({ syncRun: run.id, status, itemsChecked, itemsAdjusted, errors: errors.length }, 'warehouse sync finished');
    this.metrics.syncRuns.inc({ status: finished.status });
    this.metrics.syncAdjusted.inc(finished.itemsAdjusted);
    this.metrics.syncErrors.inc(finished.errors.length);
    return finished;
  }
}
