import { Elysia } from 'elysia';
import { authPlugin, type Tokens } from '../../http/auth.ts';
import { errors, Page } from '../../http/models.ts';
import { SyncRun, SyncRunListQuery } from './warehouse.models.ts';
import type { WarehouseSync } from './warehouse.service.ts';

export function warehouseRoutes(warehouse: WarehouseSync, tokens: Tokens) {
  return new Elysia({ prefix: '/api/v1/warehouse', tags: ['Operations'] })
    .use(authPlugin(tokens))
    .post('/sync', () => warehouse.run('manual'), {
      role: 'admin',
      response: { 200: SyncRun, ...errors(401, 403) },
      detail: {
        summary: 'Synchronise stock with the warehouse now',
        description:
          'Fetches every page of counts and reconciles each product through its stock actor; answers with the finished run (`succeeded`, `partial` or `failed`, with `errors`). A count below what open orders hold keeps `onHand` at the reserved amount and reports the shortfall.',
      },
    })
    .get('/syncs', ({ query }) => warehouse.list(query), {
      role: 'admin',
      query: SyncRunListQuery,
      response: { 200: Page(SyncRun), ...errors(401, 403, 422) },
      detail: { summary: 'Warehouse sync runs, newest first' },
    });
}
