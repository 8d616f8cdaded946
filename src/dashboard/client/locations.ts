import { get, query } from './api.ts';
import { useLoad } from './hooks.ts';
import type { Location, Page } from './types.ts';

/** Every live location: a shop has a handful, read 200 at a time until the last page. */
export async function loadLocations(): Promise<Map<string, Location>> {
  const all = new Map<string, Location>();
  let cursor: string | undefined;
  do {
    const page = await get<Page<Location>>(`/api/v1/locations${query({ limit: 200, cursor })}`);
    for (const location of page.items) all.set(location.id, location);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return all;
}

/** The live locations by id, for naming them and choosing one. */
export const useLocations = () => useLoad(loadLocations, []);

/** A location's code; a deleted one (no longer listed, still named by transfers and orders) by the end of its id. */
export function locationCode(locations: Map<string, Location> | undefined, id: string): string {
  return locations?.get(id)?.code ?? `location …${id.slice(-8)}`;
}
