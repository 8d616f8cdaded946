import { Elysia } from 'elysia';
import { errors, IdParams, Page } from '../../http/models.ts';
import { Inventory, InventoryAdjustment, InventorySet, Movement, MovementListQuery } from './inventory.models.ts';
import type { InventoryService } from './inventory.service.ts';

export function inventoryRoutes(inventory: InventoryService) {
  return new Elysia({ prefix: '/api/v1/products/:id/inventory', tags: ['Inventory'] })
    .get('', ({ params }) => inventory.get(params.id), {
      params: IdParams,
      response: { 200: Inventory, ...errors(404, 422) },
      detail: {
        summary: "Get a product's stock",
        description:
          '`available = onHand - reserved`; always `0 <= reserved <= onHand`. The top-level counts are the sums over `locations` (each location the product is kept at, with the same counts and the same rule); `incoming` is on its way by transfer and never sellable.',
      },
    })
    .put('', ({ params, body }) => inventory.set(params.id, body), {
      params: IdParams,
      parse: 'json',
      body: InventorySet,
      response: { 200: Inventory, ...errors(400, 401, 403, 404, 409, 413, 422, 429) },
      detail: {
        summary: 'Set the on-hand count',
        description:
          'Sets the count at `locationId` (the default location when omitted; an unknown or inactive location → 422). Without `locationId` on a product kept at more than one location → 409 naming them. With `expectedOnHand` this is a compare-and-set: 409 unless the count there is still that value. A count below what open orders reserved there → 409. The difference is recorded as a movement.',
      },
    })
    .post('/adjustments', ({ params, body }) => inventory.adjust(params.id, body), {
      params: IdParams,
      parse: 'json',
      body: InventoryAdjustment,
      response: { 200: Inventory, ...errors(400, 401, 403, 404, 409, 413, 422, 429) },
      detail: {
        summary: 'Adjust stock by a relative amount',
        description:
          'At `locationId` (the default location when omitted; an unknown or inactive location → 422). Safe under any concurrency: changes to one product are applied one after another. A result below what is reserved there → 409.',
      },
    })
    .get('/movements', ({ params, query }) => inventory.movements(params.id, query), {
      params: IdParams,
      query: MovementListQuery,
      response: { 200: Page(Movement), ...errors(401, 403, 404, 422) },
      detail: {
        summary: 'Stock ledger, newest first',
        description: "The sum of a product's movements equals its `onHand`, and at one location that location's `onHand` (`onHandAfter` is per location). A transfer's movements name it (`transferId`).",
      },
    });
}
