import type { Executor } from '../../src/db/client.ts';
import type { Api, Who } from './service.ts';

export type Line = { productId: string; quantity: number };

/** `POST /api/v1/holds` as the storefront (or `as`), with an Idempotency-Key when given. */
export function placeHold(api: Api, items: Line[], options: { customerId?: string | null; ttlSeconds?: number; locationIds?: string[]; key?: string; as?: Who } = {}) {
  const body: Record<string, unknown> = { items };
  if (options.customerId !== null) body.customerId = options.customerId ?? 'customer-1';
  if (options.ttlSeconds !== undefined) body.ttlSeconds = options.ttlSeconds;
  if (options.locationIds) body.locationIds = options.locationIds;
  return api.post('/api/v1/holds', body, options.as ?? 'client', options.key ? { 'idempotency-key': options.key } : undefined);
}

/**
 * A location made with SQL (the locations API is someone else's work): id, code and priority, as
 * the allocation strategies see them.
 */
export async function addLocation(sql: Executor, code: string, priority: number): Promise<string> {
  const id = Bun.randomUUIDv7();
  await sql`INSERT INTO locations (id, code, name, priority) VALUES (${id}, ${code}, ${`Location ${code}`}, ${priority})`;
  return id;
}

/** The product's stock at a location, through the API (the default location when `locationId` is omitted). */
export async function stockAt(api: Api, productId: string, onHand: number, locationId?: string) {
  const reply = await api.put(`/api/v1/products/${productId}/inventory`, { onHand, ...(locationId ? { locationId } : {}) });
  if (reply.status !== 200) throw new Error(`could not set stock: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** The product's inventory as the API shows it. */
export const inventory = async (api: Api, productId: string) => (await api.get(`/api/v1/products/${productId}/inventory`)).body;

/** Moves a hold's expiry, in database time: holds expire by the database clock, so tests move the row rather than wait. */
export async function expireIn(sql: Executor, holdId: string, ms: number) {
  await sql`UPDATE holds SET expires_at = now() + ${ms} * interval '1 millisecond' WHERE id = ${holdId}`;
}
