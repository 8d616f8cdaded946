import { Elysia } from 'elysia';
import { errors, IdParams, Page } from '../../http/models.ts';
import { Inventory, InventoryAdjustment, InventorySet, Movement, MovementListQuery } from './inventory.models.ts';
import type { InventoryService } from './inventory.service.ts';

export function inventoryRoutes(inventory: InventoryService) {
  return new Elysia({ prefix: '/api/v1/products/:id/inventory', tags: ['Inventory'] })
    .get('', ({ params }) => inventory.get(params.id), {
      params: IdParams,
      response: { 200: Inventory, ...errors(404, 422) },
      detail: { summary: "Get a product's stock", description: '`available = onHand - reserved`; always `0 <= reserved <= onHand`.' },
    })
    .put('', ({ params, body }) => inventory.set(params.id, body), {
      params: IdParams,
      parse: 'json',
      body: InventorySet,
      response: { 200: Inventory, ...errors(400, 401, 403, 404, 409, 413, 422, 429) },
      detail: {
        summary: 'Set the on-hand count',
        description:
          'With `expectedOnHand` this is a compare-and-set: 409 unless the count is still that value. A count below what open orders reserved → 409. The difference is recorded as a movement.',
      },
    })
    .post('/adjustments', ({ params, body }) => inventory.adjust(params.id, body), {
      params: IdParams,
      parse: 'json',
      body: InventoryAdjustment,
      response: { 200: Inventory, ...errors(400, 401, 403, 404, 409, 413, 422, 429) },
      detail: {
        summary: 'Adjust stock by a relative amount',
        description: 'Safe under any concurrency: changes to one product are applied one after another. A result below `reserved` → 409.',
      },
    })
    .get('/movements', ({ params, query }) => inventory.movements(params.id, query), {
      params: IdParams,
      query: MovementListQuery,
      response: { 200: Page(Movement), ...errors(401, 403, 404, 422) },
      detail: { summary: 'Stock ledger, newest first', description: "The sum of a product's movements equals its `onHand`." },
    });
}
