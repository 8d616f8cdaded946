import type { StockActors } from '../../actors/stock-actors.ts';
import { syncStock, type SyncOutcome } from '../../actors/stock-commands.ts';
import { iso, type Sql } from '../../db/client.ts';
import { toError } from '../../lib/errors.ts';
import { decodeCursor, isUuidKey, pageOf } from '../../lib/paging.ts';
import type { Logger } from '../../lib/logger.ts';
import { DEFAULT_LOCATION_ID } from '../../db/schema/locations.ts';

/** The code migration 0007 gave the default location: a count naming no location is for it. */
const DEFAULT_LOCATION_CODE = 'default';
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
      const [products, locations] = await Promise.all([q.productsBySku(this.sql, page.items.map((i) => i.sku)), q.liveLocations(this.sql)]);
      const catalog = new Map(products.map((p) => [p.sku.toLowerCase(), p]));
      const places = new Map(locations.map((l) => [l.code.toLowerCase(), l.id]));
      const work = page.items.flatMap((item) => {
        const where = item.location ?? DEFAULT_LOCATION_CODE;
        const key = `${item.sku.toLowerCase()}\n${where.toLowerCase()}`;
        if (seen.has(key)) {
          errors.push({ sku: item.sku, message: `reported twice in one run${item.location ? ` at ${item.location}` : ''}; the first count was used` });
          return [];
        }
        seen.add(key);
        const product = catalog.get(item.sku.toLowerCase());
        if (!product) {
          errors.push({ sku: item.sku, message: 'unknown SKU: not in the catalog; ignored' });
          return [];
        }
        const locationId = item.location === undefined ? DEFAULT_LOCATION_ID : places.get(item.location.toLowerCase());
        if (!locationId) {
          errors.push({ sku: item.sku, message: `unknown location "${item.location}": no location has this code; ignored` });
          return [];
        }
        return [{ item, product, locationId }];
      });
      const outcomes = await Promise.allSettled(
        work.map(({ item, product, locationId }) => this.actors.submit(syncStock(product.id, locationId, item.onHand, run.id), { admit: false })),
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
          const { place } = result;
          const sold = place.awaitingShipment > 0 ? ` plus the ${place.awaitingShipment} sold awaiting shipment` : '';
          const at = item.location ? ` at ${item.location}` : '';
          errors.push({
            sku: item.sku,
            message: `warehouse counts ${item.onHand}${at}, below the ${place.reserved} reserved there${sold}: on hand held at ${place.onHand}, short by ${result.shortfall}`,
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
