import type { Config } from '../../config.ts';
import type { Sql } from '../../db/client.ts';
import { LocationsService } from './locations.service.ts';

export type LocationsModuleDeps = { sql: Sql; config: Pick<Config, 'heartbeatTtlMs'> };

/** Where stock is kept: the `locations` rows are this module's; no jobs. */
export function createLocationsModule({ sql, config }: LocationsModuleDeps) {
  return { service: new LocationsService(sql, { heartbeatTtlMs: config.heartbeatTtlMs }) };
}
