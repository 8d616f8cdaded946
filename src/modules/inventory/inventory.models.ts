import { t } from 'elysia';
import type { InventoryLevel } from '../../actors/stock-plan.ts';
import { Int, PageQuery, Timestamp, Uuid } from '../../http/models.ts';
import { PG_INT_MAX } from '../../lib/bounds.ts';

const Counts = {
  onHand: Int({ minimum: 0 }),
  reserved: Int({ minimum: 0 }),
  held: Int({ minimum: 0, description: 'The part of `reserved` that holds (cart reservations) keep' }),
  available: Int({ minimum: 0, description: '`onHand - reserved`' }),
  incoming: Int({ minimum: 0, description: 'On its way by transfer: never sellable' }),
  awaitingShipment: Int({ minimum: 0, description: 'Sold, not shipped yet: no longer on hand, still there' }),
};

export const LocationLevel = t.Object({ locationId: Uuid, locationCode: t.String(), ...Counts });

/** The API's shape of a product's stock: the stock engine's `InventoryLevel`, which it is checked against below. */
export const Inventory = t.Object({
  productId: Uuid,
  ...Counts,
  updatedAt: Timestamp,
  locations: t.Array(LocationLevel, { description: 'Each location the product is kept at; the counts above are their sums' }),
});
// One shape: the engine (actors/ knows no module) and the model must not drift apart.
const sameShape: [InventoryLevel, typeof Inventory.static] extends [typeof Inventory.static, InventoryLevel] ? true : never = true;
void sameShape;

// Well inside PostgreSQL's integer (PG_INT_MAX): one request can never push a count past it.
const Count = Int({ minimum: 0, maximum: 1_000_000_000 });
const Reason = t.String({ minLength: 1, maxLength: 200, pattern: '\\S', description: 'Why the stock changed; kept in the ledger' });

export const InventorySet = t.Object({
  onHand: Count,
  expectedOnHand: t.Optional(Int({ minimum: 0, maximum: PG_INT_MAX, description: 'Compare-and-set: refused with 409 unless onHand is this now' })),
  reason: t.Optional(Reason),
  locationId: t.Optional(t.String({ format: 'uuid', description: 'Where (default: the default location; required for a product stocked at several)' })),
});

export const InventoryAdjustment = t.Object({
  delta: Int({ minimum: -1_000_000_000, maximum: 1_000_000_000, description: 'Relative change, not 0' }),
  reason: Reason,
  locationId: t.Optional(t.String({ format: 'uuid', description: 'Where (default: the default location)' })),
});

export const Movement = t.Object({
  id: t.String(),
  productId: Uuid,
  delta: Int(),
  reason: t.String(),
  orderId: t.Union([Uuid, t.Null()], { description: 'The order a sale or restock was for, when it was for one' }),
  orderIds: t.Array(Uuid, { description: 'Every order the movement was for: the sales of one stock batch are one movement' }),
  syncRunId: t.Union([Uuid, t.Null()]),
  locationId: Uuid,
  transferId: t.Union([Uuid, t.Null()]),
  returnId: t.Union([Uuid, t.Null()], { description: 'The return a `return` movement put back on hand' }),
  onHandAfter: Int({ description: "The location's on hand after it" }),
  createdAt: Timestamp,
});
export type Movement = typeof Movement.static;

export const MovementListQuery = t.Object({ ...PageQuery });
