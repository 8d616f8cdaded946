import { t } from 'elysia';
import type { InventoryLevel } from '../../actors/stock-plan.ts';
import { Int, PageQuery, Timestamp, Uuid } from '../../http/models.ts';
import { PG_INT_MAX } from '../../lib/bounds.ts';

/** The API's shape of a product's stock: the stock engine's `InventoryLevel`, which it is checked against below. */
export const Inventory = t.Object({
  productId: Uuid,
  onHand: Int({ minimum: 0 }),
  reserved: Int({ minimum: 0 }),
  available: Int({ minimum: 0 }),
  awaitingShipment: Int({ minimum: 0, description: 'Sold, not shipped yet: no longer on hand, still in the warehouse' }),
  updatedAt: Timestamp,
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
});

export const InventoryAdjustment = t.Object({
  delta: Int({ minimum: -1_000_000_000, maximum: 1_000_000_000, description: 'Relative change, not 0' }),
  reason: Reason,
});

export const Movement = t.Object({
  id: t.String(),
  productId: Uuid,
  delta: Int(),
  reason: t.String(),
  orderId: t.Union([Uuid, t.Null()], { description: 'The order a sale or restock was for, when it was for one' }),
  orderIds: t.Array(Uuid, { description: 'Every order the movement was for: the sales of one stock batch are one movement' }),
  syncRunId: t.Union([Uuid, t.Null()]),
  onHandAfter: Int(),
  createdAt: Timestamp,
});
export type Movement = typeof Movement.static;

export const MovementListQuery = t.Object({ ...PageQuery });
