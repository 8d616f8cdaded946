import { randomBytes } from 'node:crypto';
import { iso, type Sql } from '../../db/client.ts';
import { notFound } from '../../lib/errors.ts';
import { decodeCursor, isUuidKey, pageOf } from '../../lib/paging.ts';
import type { ApiKey, ApiKeyCreate, ApiKeyCreated } from './api-keys.models.ts';
import * as q from './api-keys.queries.ts';
import type { Capabilities } from '../capabilities.ts';
import { hashKey, type KeyStore } from './key-store.ts';

/** Recognisable in a leak scan (secret scanners match the prefix); 256 random bits after it. */
export const KEY_PREFIX = 'sr_live_';
const SHOWN_PREFIX_LENGTH = KEY_PREFIX.length + 6;

const toApiKey = (row: q.ApiKeyRow): ApiKey => ({
  id: row.id,
  name: row.name,
  role: row.role,
  prefix: row.prefix,
  lastUsedAt: iso(row.lastUsedAt),
  createdAt: iso(row.createdAt),
});

export class ApiKeysService {
  constructor(
    private readonly sql: Sql,
    private readonly store: KeyStore,
    private readonly capabilities: Capabilities,
  ) {}

  /** The key is returned here and nowhere else: only its hash is stored. */
  async create(input: ApiKeyCreate): Promise<ApiKeyCreated> {
    this.capabilities.require('apiKeys');
    const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row = await q.insertKey(this.sql, { id: Bun.randomUUIDv7(), name: input.name.trim(), role: input.role, prefix: key.slice(0, SHOWN_PREFIX_LENGTH), hash: hashKey(key) });
    await this.store.refresh(); // usable on this process at once
    return { ...toApiKey(row), key };
  }

  async list(query: { limit?: number; cursor?: string }): Promise<{ items: ApiKey[]; nextCursor: string | null }> {
    this.capabilities.require('apiKeys');
    const limit = query.limit ?? 50;
    const before = decodeCursor(query.cursor, isUuidKey);
    return pageOf(await q.listKeys(this.sql, before?.[0], limit + 1), limit, toApiKey, (row) => [row.id]);
  }

  /** Refused here at once, by every other process within the store's refresh interval. Revoking twice is fine. */
  async revoke(id: string): Promise<void> {
    this.capabilities.require('apiKeys');
    const result = await q.revokeKey(this.sql, id);
    if (result.outcome === 'missing') throw notFound(`API key ${id}`);
    if (result.outcome === 'revoked') this.store.forget(result.hash);
  }
}
