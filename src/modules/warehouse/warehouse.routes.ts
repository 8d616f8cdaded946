import { Elysia } from 'elysia';
import { errors, Page } from '../../http/models.ts';
import { SyncRun, SyncRunListQuery } from './warehouse.models.ts';
import type { WarehouseSync } from './warehouse.service.ts';

export function warehouseRoutes(warehouse: WarehouseSync) {
  return new Elysia({ prefix: '/api/v1/warehouse', tags: ['Operations'] })
    .post('/sync', () => warehouse.run('manual'), {
      response: { 200: SyncRun, ...errors(401, 403) },
      detail: {
        summary: 'Synchronise stock with the warehouse now',
        description:
          'Fetches every page of counts and reconciles each product through its stock actor; answers with the finished run (`succeeded`, `partial` or `failed`, with `errors`). A count below what open orders hold keeps `onHand` at the reserved amount and reports the shortfall.',
      },
    })
    .get('/syncs', ({ query }) => warehouse.list(query), {
      query: SyncRunListQuery,
      response: { 200: Page(SyncRun), ...errors(401, 403, 422) },
      detail: { summary: 'Warehouse sync runs, newest first' },
    });
}
