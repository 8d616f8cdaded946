import { Elysia, t } from 'elysia';
import { errors, IdParams, Page } from '../../http/models.ts';
import { ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyListQuery } from './api-keys.models.ts';
import type { ApiKeysService } from './api-keys.service.ts';

/** Managing API keys (admin only: access.ts). */
export function apiKeysRoutes(keys: ApiKeysService) {
  return new Elysia({ prefix: '/api/v1/api-keys', tags: ['Credentials'] })
    .post('', async ({ body, status }) => status(201, await keys.create(body)), {
      parse: 'json',
      body: ApiKeyCreate,
      response: { 201: ApiKeyCreated, ...errors(400, 401, 403, 413, 422, 429, 503) },
      detail: {
        summary: 'Create an API key',
        description: 'The answer carries the key (`sr_live_…`) once; only its hash is stored. Send it as `Authorization: Bearer <key>`.',
      },
    })
    .get('', ({ query }) => keys.list(query), {
      query: ApiKeyListQuery,
      response: { 200: Page(ApiKey), ...errors(401, 403, 422, 429, 503) },
      detail: { summary: 'List active API keys, newest first', description: 'Without the keys themselves; `lastUsedAt` is recorded at most once a minute.' },
    })
    .delete(
      '/:id',
      async ({ params, status }) => {
        await keys.revoke(params.id);
        return status(204, undefined);
      },
      {
        params: IdParams,
        response: { 204: t.Void({ description: 'Revoked (also when it already was)' }), ...errors(401, 403, 404, 422, 429, 503) },
        detail: { summary: 'Revoke an API key', description: 'Refused at once by this process and within a second by every other process on the database.' },
      },
    );
}
