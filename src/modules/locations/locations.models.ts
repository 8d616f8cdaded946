import { t } from 'elysia';
import { Int, PageQuery, Timestamp, Uuid } from '../../http/models.ts';
import { locationKinds } from '../../db/schema/locations.ts';
import { LocationLevel } from '../inventory/inventory.models.ts';

export const LocationKind = t.UnionEnum(locationKinds, { default: undefined, description: 'A warehouse, or a store (e.g. one customers pick up from)' });

export const Location = t.Object({
  id: Uuid,
  code: t.String({ description: 'Unique regardless of case among live locations; what the warehouse protocol names (`location`)' }),
  name: t.String(),
  kind: LocationKind,
  priority: Int({ description: 'Lower first: the `priority` allocation strategy, and the ties of the others' }),
  active: t.Boolean({ description: 'An inactive location is never allocated from; its stock stays where it is' }),
  default: t.Boolean({ description: 'The one location that takes every stock change naming none (its code is `default` after the upgrade)' }),
  createdAt: Timestamp,
});
export type Location = typeof Location.static;

const Code = t.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: 'Letters, digits, ".", "_" and "-"; unique regardless of case among live locations',
  examples: ['WH-EAST'],
});
const Name = t.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
const Priority = Int({ minimum: 0, maximum: 1_000_000, description: 'Lower first; default 100' });

export const LocationCreate = t.Object({
  code: Code,
  name: Name,
  kind: t.Optional(LocationKind),
  priority: t.Optional(Priority),
  active: t.Optional(t.Boolean({ description: 'Default true' })),
});
export type LocationCreate = typeof LocationCreate.static;

export const LocationPatch = t.Object(
  { name: t.Optional(Name), priority: t.Optional(Priority), active: t.Optional(t.Boolean()) },
  { minProperties: 1, description: 'At least one of name, priority, active' },
);
export type LocationPatch = typeof LocationPatch.static;

export const LocationListQuery = t.Object({
  ...PageQuery,
  withTotals: t.Optional(t.Boolean({ description: 'Each location with `totals`, what it holds over every product (one read of its stock rows per page)' })),
});

const Total = Int({ minimum: 0 });
/** What a location holds over every product: what keeps it from being deleted, and what it could sell. */
export const LocationTotals = t.Object({
  products: Int({ minimum: 0, description: 'Products with any count there (on hand, reserved, incoming or awaiting shipment)' }),
  onHand: Total,
  reserved: Total,
  held: Total,
  available: Total,
  incoming: Total,
  awaitingShipment: Total,
});
export type LocationTotals = typeof LocationTotals.static;

export const LocationListItem = t.Composite([Location, t.Object({ totals: t.Optional(LocationTotals) })]);
export type LocationListItem = typeof LocationListItem.static;

/** A product's stock at one location, for the location's own list: the product named by id and SKU. */
export const LocationStock = t.Object({ productId: Uuid, sku: t.String(), ...LocationLevel.properties });
export type LocationStock = typeof LocationStock.static;
