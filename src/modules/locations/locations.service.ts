import { excludeStockTransactions } from '../../actors/stock.queries.ts';
import { iso, PgCode, pgCode, type Sql, type TxSql } from '../../db/client.ts';
import { AppError, conflict, notFound } from '../../lib/errors.ts';
import { decodeCursor, isUuid, isUuidKey, pageOf } from '../../lib/paging.ts';
import { previousVersionAlive } from '../nodes/nodes.queries.ts';
import type { Location, LocationCreate, LocationListItem, LocationPatch, LocationStock, LocationTotals } from './locations.models.ts';
import * as q from './locations.queries.ts';

export type LocationsOptions = {
  /** A process whose heartbeat is older than this is gone (HEARTBEAT_TTL_MS). */
  heartbeatTtlMs: number;
};

/**
 * How long changing or removing a location may wait for the stock transactions under way (each
 * takes milliseconds). Stock work queues behind the waiting change, so the wait is short; past it
 * the change answers 503 and may simply be sent again.
 */
const EXCLUDE_LOCK_TIMEOUT_MS = 500;

const toLocation = (row: q.LocationRow): Location => ({
  id: row.id,
  code: row.code,
  name: row.name,
  kind: row.kind,
  priority: row.priority,
  active: row.active,
  default: row.isDefault,
  createdAt: iso(row.createdAt),
});
/** A location without stock rows holds nothing. */
const totalsOf = (row: q.LocationTotalsRow | undefined): LocationTotals => {
  const { products = 0, onHand = 0, reserved = 0, held = 0, incoming = 0, awaitingShipment = 0 } = row ?? {};
  return { products, onHand, reserved, held, available: onHand - reserved, incoming, awaitingShipment };
};
const isListKey = (key: unknown[]): key is [number, string, string] =>
  key.length === 3 && Number.isSafeInteger(key[0]) && typeof key[1] === 'string' && isUuid(key[2]);

/**
 * Where stock is kept. The rows are this module's; the stock at a location is the stock engine's
 * (src/actors), which reads the live locations in every batch.
 */
export class LocationsService {
  constructor(
    private readonly sql: Sql,
    private readonly options: LocationsOptions,
  ) {}

  async get(id: string): Promise<Location> {
    return toLocation(await this.find(id));
  }

  async list(query: { limit?: number; cursor?: string; withTotals?: boolean }): Promise<{ items: LocationListItem[]; nextCursor: string | null }> {
    const limit = query.limit ?? 50;
    const rows = await q.listLocations(this.sql, decodeCursor(query.cursor, isListKey), limit + 1);
    const page = pageOf(rows, limit, toLocation, (row) => [row.priority, row.code.toLowerCase(), row.id]);
    if (!query.withTotals) return page;
    const totals = new Map((await q.locationTotals(this.sql, page.items.map((l) => l.id))).map((row) => [row.locationId, row]));
    return { ...page, items: page.items.map((location) => ({ ...location, totals: totalsOf(totals.get(location.id)) })) };
  }

  async create(input: LocationCreate): Promise<Location> {
    await this.refuseDuringRollout('created');
    try {
      return toLocation(await q.insertLocation(this.sql, Bun.randomUUIDv7(), input));
    } catch (error) {
      if (pgCode(error) === PgCode.uniqueViolation) throw conflict(`a location with the code "${input.code}" already exists (codes are unique regardless of case)`);
      throw error;
    }
  }

  /** Name, priority, active. The default location stays active: every change naming no location goes there. */
  async update(id: string, patch: LocationPatch): Promise<Location> {
    const row = await this.find(id);
    if (patch.active === false && row.isDefault) {
      throw conflict('the default location cannot be deactivated: every stock change that names no location goes there', { locationId: id });
    }
    if (patch.active === true && !row.active) await this.refuseDuringRollout('activated');
    // With stock transactions excluded: the versions it moves are moved between two of them, never in one's way.
    const updated = await this.excludingStock(async (tx) => q.updateLocation(tx, id, patch));
    if (!updated) throw notFound(`location ${id}`);
    return toLocation(updated);
  }

  /**
   * Only an empty location goes, and never the default one. Checked with every stock transaction
   * excluded (they all hold the locations lock shared), so no change can land at the location
   * between the check and its removal; the removal is soft, so the ledger and transfers that name
   * it keep their meaning, and its code may be used again.
   */
  async remove(id: string): Promise<void> {
    const row = await this.find(id);
    if (row.isDefault) throw conflict('the default location cannot be deleted: every stock change that names no location goes there', { locationId: id });
    await this.excludingStock(async (tx) => {
      if (!(await q.lockLocation(tx, id))) throw notFound(`location ${id}`);
      const held = await q.holdings(tx, id);
      if (held.products > 0 || held.transfers > 0) {
        const what = [held.products > 0 ? `stock of ${held.products} product(s)` : '', held.transfers > 0 ? `${held.transfers} transfer(s) in transit` : ''];
        throw conflict(`location ${row.code} still has ${what.filter(Boolean).join(' and ')}: move or count it to 0 first`, held);
      }
      await q.markDeleted(tx, id);
    });
  }

  /** `work` in a transaction no stock transaction overlaps (bounded wait: 503 when stock work keeps it waiting). */
  private async excludingStock<T>(work: (tx: TxSql) => Promise<T>): Promise<T> {
    try {
      return (await this.sql.begin(async (tx) => {
        await excludeStockTransactions(tx, EXCLUDE_LOCK_TIMEOUT_MS);
        return work(tx);
      })) as T;
    } catch (error) {
      if (pgCode(error) === PgCode.lockNotAvailable) {
        throw new AppError('unavailable', 'stock work under way kept the location from being changed; retry shortly', undefined, { retryAfterSeconds: 1 });
      }
      throw error;
    }
  }

  /** The location's counts of each product kept there, by product id. */
  async inventory(id: string, query: { limit?: number; cursor?: string }): Promise<{ items: LocationStock[]; nextCursor: string | null }> {
    await this.find(id);
    const limit = query.limit ?? 50;
    const after = decodeCursor(query.cursor, isUuidKey);
    const rows = await q.locationStock(this.sql, id, after?.[0], limit + 1);
    return pageOf(rows, limit, (row) => ({ ...row, available: row.onHand - row.reserved }), (row) => [row.productId]);
  }

  private async find(id: string): Promise<q.LocationRow> {
    const row = await q.findLocation(this.sql, id);
    if (!row) throw notFound(`location ${id}`);
    return row;
  }

  /**
   * While a process of the version before locations still serves, stock stays at the default
   * location, the only one its code knows (its writes are carried there by migration 0007's
   * trigger): a second location could be allocated from by this version and not by that one.
   */
  private async refuseDuringRollout(what: 'created' | 'activated'): Promise<void> {
    if (await previousVersionAlive(this.sql, this.options.heartbeatTtlMs)) {
      throw conflict(
        `a location cannot be ${what} while a process of the previous version (before locations) still serves: stock stays at the default location until every process runs this version; retry once they are replaced`,
      );
    }
  }
}
