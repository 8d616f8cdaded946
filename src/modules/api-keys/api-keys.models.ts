import { t } from 'elysia';
import { PageQuery, Timestamp, Uuid } from '../../http/models.ts';
import { apiKeyRoles } from './roles.ts';

export const ApiKeyRoleModel = t.UnionEnum(apiKeyRoles, { description: '`admin`; `storefront` (orders and catalog reads, like CLIENT_TOKEN); `warehouse` (inventory writes, warehouse sync, catalog reads); `read-only` (every GET except /metrics, api-keys and webhooks)',
});

export const ApiKey = t.Object({
  id: Uuid,
  name: t.String(),
  role: ApiKeyRoleModel,
  prefix: t.String({ description: 'The start of the key, to recognise it (the key itself is never shown again)' }),
  lastUsedAt: t.Union([Timestamp, t.Null()], { description: 'Recorded at most once a minute' }),
  createdAt: Timestamp,
});
export type ApiKey = typeof ApiKey.static;

export const ApiKeyCreated = t.Composite([ApiKey, t.Object({ key: t.String({ description: 'The bearer token: shown only in this answer' }) })]);
export type ApiKeyCreated = typeof ApiKeyCreated.static;

export const ApiKeyCreate = t.Object({
  name: t.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'What the key is for, e.g. "web shop"' }),
  role: ApiKeyRoleModel,
});
export type ApiKeyCreate = typeof ApiKeyCreate.static;

export const ApiKeyListQuery = t.Object({ ...PageQuery });
