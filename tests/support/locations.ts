import type { Api } from './service.ts';

let codeCounter = 0;
/** A code no other test of the run uses. */
export const uniqueCode = (prefix = 'LOC') => `${prefix}-${Date.now().toString(36)}-${(codeCounter++).toString(36)}`.toUpperCase();

export async function createLocation(api: Api, fields: { code?: string; name?: string; kind?: 'warehouse' | 'store'; priority?: number; active?: boolean } = {}) {
  const reply = await api.post('/api/v1/locations', { code: uniqueCode(), name: 'Test location', ...fields });
  if (reply.status !== 201) throw new Error(`could not create location: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as { id: string; code: string; name: string; kind: string; priority: number; active: boolean; default: boolean; createdAt: string };
}

/** Puts `delta` units at a location (an adjustment naming it). */
export async function stock(api: Api, productId: string, locationId: string, delta: number) {
  const reply = await api.post(`/api/v1/products/${productId}/inventory/adjustments`, { delta, reason: 'test stock', locationId });
  if (reply.status !== 200) throw new Error(`could not stock ${productId} at ${locationId}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** A product's counts at one location, as the API shows them (zeros where it has none). */
export async function countsAt(api: Api, productId: string, locationId: string) {
  const inventory = (await api.get(`/api/v1/products/${productId}/inventory`)).body as { locations: Record<string, number | string>[] };
  const level = inventory.locations.find((l) => l.locationId === locationId);
  return {
    onHand: Number(level?.onHand ?? 0),
    reserved: Number(level?.reserved ?? 0),
    incoming: Number(level?.incoming ?? 0),
    awaitingShipment: Number(level?.awaitingShipment ?? 0),
  };
}
