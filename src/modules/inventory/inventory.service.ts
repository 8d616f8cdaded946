import type { StockActors } from '../../actors/stock-actors.ts';
import { adjustStock, setStock } from '../../actors/stock-commands.ts';
import { inventoryOf, type InventoryLevel } from '../../actors/stock-plan.ts';
import { readPlaces } from '../../actors/stock.queries.ts';
import { iso, type Sql } from '../../db/client.ts';
import { invalid, notFound } from '../../lib/errors.ts';
import { decodeCursor, isBigintKey, pageOf } from '../../lib/paging.ts';
import type { Movement } from './inventory.models.ts';
import * as q from './inventory.queries.ts';

/** Reads go straight to the database; every change goes through the product's stock actor. */
export class InventoryService {
  constructor(
    private readonly sql: Sql,
    private readonly actors: StockActors,
  ) {}

  async get(productId: string): Promise<InventoryLevel> {
    const [row, places] = await Promise.all([q.findInventory(this.sql, productId), readPlaces(this.sql, [productId])]);
    if (!row) throw notFound(`product ${productId}`);
    return inventoryOf(row, places);
  }

  set(productId: string, input: { onHand: number; expectedOnHand?: number; reason?: string; locationId?: string }): Promise<InventoryLevel> {
    return this.actors.submit(setStock(productId, input.onHand, input.reason ?? 'set', { expectedOnHand: input.expectedOnHand, locationId: input.locationId }));
  }

  adjust(productId: string, input: { delta: number; reason: string; locationId?: string }): Promise<InventoryLevel> {
    if (input.delta === 0) throw invalid('body.delta', 'must not be 0');
    return this.actors.submit(adjustStock(productId, input.delta, input.reason, input.locationId));
  }

  async movements(productId: string, query: { limit?: number; cursor?: string }): Promise<{ items: Movement[]; nextCursor: string | null }> {
    const limit = query.limit ?? 50;
    const before = decodeCursor(query.cursor, isBigintKey);
    if (!(await q.findInventory(this.sql, productId))) throw notFound(`product ${productId}`);
    const rows = await q.listMovements(this.sql, productId, before?.[0], limit + 1);
    // A sale of one order names it in `orderId` too; a batch's sale names all of them in `orderIds`.
    const view = ({ orderIds, ...row }: (typeof rows)[number]): Movement => ({
      ...row,
      orderId: orderIds?.length === 1 ? orderIds[0]! : null,
      orderIds: orderIds ?? [],
      createdAt: iso(row.createdAt),
    });
    return pageOf(rows, limit, view, (row) => [row.id]);
  }
}
