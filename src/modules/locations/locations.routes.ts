import { Elysia, t } from 'elysia';
import { errors, IdParams, Page } from '../../http/models.ts';
import { Location, LocationCreate, LocationListItem, LocationListQuery, LocationPatch, LocationStock } from './locations.models.ts';
import type { LocationsService } from './locations.service.ts';

const ROLLOUT =
  'While a process of the previous version (before locations) still serves, stock stays at the default location: creating or activating a location answers 409 until every process runs this version.';

export function locationsRoutes(locations: LocationsService) {
  return new Elysia({ prefix: '/api/v1/locations', tags: ['Locations'] })
    .post('', async ({ body, status }) => status(201, await locations.create(body)), {
      parse: 'json',
      body: LocationCreate,
      response: { 201: Location, ...errors(400, 401, 403, 409, 413, 422, 429) },
      detail: {
        summary: 'Create a location',
        description: `A warehouse (default) or a store. \`priority\`: lower first (default 100); \`active\` (default true): allocated from. A code already used by a live location, in any case → 409. ${ROLLOUT}`,
      },
    })
    .get('', ({ query }) => locations.list(query), {
      query: LocationListQuery,
      response: { 200: Page(LocationListItem), ...errors(401, 403, 422, 429) },
      detail: {
        summary: 'List locations',
        description:
          'Live locations (not deleted), by priority, then code. With `withTotals=true` each carries `totals`: what it holds over every product (on hand, reserved, held, available, incoming, awaiting shipment, and how many products have any count there); a location that holds anything cannot be deleted.',
      },
    })
    .get('/:id', ({ params }) => locations.get(params.id), {
      params: IdParams,
      response: { 200: Location, ...errors(401, 403, 404, 422, 429) },
      detail: { summary: 'Get a location', description: 'A deleted location is 404 (its ledger rows and transfers still name it).' },
    })
    .patch('/:id', ({ params, body }) => locations.update(params.id, body), {
      params: IdParams,
      parse: 'json',
      body: LocationPatch,
      response: { 200: Location, ...errors(400, 401, 403, 404, 409, 413, 422, 429) },
      detail: {
        summary: 'Change a location: name, priority, active',
        description: `An inactive location is never allocated from (orders, holds, transfers) and its stock stays where it is. Deactivating the default location → 409. ${ROLLOUT}`,
      },
    })
    .delete(
      '/:id',
      async ({ params, status }) => {
        await locations.remove(params.id);
        return status(204, undefined);
      },
      {
        params: IdParams,
        response: { 204: t.Void({ description: 'Deleted' }), ...errors(401, 403, 404, 409, 422, 429, 503) },
        detail: {
          summary: 'Delete an empty location',
          description:
            'Only when it holds nothing (onHand, reserved, incoming and awaitingShipment 0 for every product) and no transfer in transit names it; otherwise, and for the default location, 409. Deletion is soft: the ledger and transfers keep naming it, and its code may be used again. 503 (retry) if stock work under way kept it from being checked.',
        },
      },
    )
    .get('/:id/inventory', ({ params, query }) => locations.inventory(params.id, query), {
      params: IdParams,
      query: LocationListQuery,
      response: { 200: Page(LocationStock), ...errors(401, 403, 404, 422, 429) },
      detail: { summary: "A location's stock", description: 'Each product kept there (by product id), with its counts at this location.' },
    });
}
