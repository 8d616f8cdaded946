import { t } from 'elysia';
import { Int, PageQuery, Timestamp, Uuid } from '../../http/models.ts';
import { holdStatuses } from '../../db/schema/holds.ts';
import { AllocationModel } from '../orders/orders.models.ts';

export const HoldStatusModel = t.UnionEnum(holdStatuses, {
  description: 'active until converted into an order, released, or expired (from `expiresAt` on, whatever was stored)',
});

/** Seconds a hold lasts (API.md): long enough for a checkout, short enough that an abandoned cart gives its stock back soon. */
export const TTL_SECONDS = { minimum: 30, maximum: 3600, default: 900 } as const;
const Ttl = Int({ minimum: TTL_SECONDS.minimum, maximum: TTL_SECONDS.maximum, description: 'Seconds from now, 30..3600' });

export const HoldItemModel = t.Object({
  productId: Uuid,
  quantity: Int({ minimum: 1 }),
  allocations: t.Array(AllocationModel, { description: 'Where its units are held (several locations when no single one had enough)' }),
});

export const Hold = t.Object({
  id: Uuid,
  customerId: t.Union([t.String(), t.Null()], { description: 'The customer it was made for; null: a guest cart, usable by any customer' }),
  status: HoldStatusModel,
  items: t.Array(HoldItemModel),
  expiresAt: Timestamp,
  orderId: t.Union([Uuid, t.Null()], { description: 'The order that took its stock (status `converted`)' }),
  createdAt: Timestamp,
});
export type Hold = typeof Hold.static;

export const HoldCreate = t.Object({
  customerId: t.Optional(
    t.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: "The shop's id for the customer (a customer token: its own, the default)" }),
  ),
  items: t.Array(t.Object({ productId: Uuid, quantity: Int({ minimum: 1, maximum: 10_000 }) }), {
    minItems: 1,
    maxItems: 50,
    description: '1 to 50 lines, each product at most once',
  }),
  ttlSeconds: t.Optional(Int({ ...TTL_SECONDS, description: 'How long the stock is held, 30..3600 seconds (default 900)' })),
  locationIds: t.Optional(t.Array(Uuid, { minItems: 1, maxItems: 50, uniqueItems: true, description: 'Only these (active) locations may give its stock' })),
});
export type HoldCreate = typeof HoldCreate.static;

export const HoldExtend = t.Object({ ttlSeconds: Ttl });

/** A short item of a refused hold: what was asked, and what could be allocated at the locations it may use. */
export const ShortItem = t.Object({ productId: Uuid, quantity: Int({ minimum: 1 }), available: Int({ minimum: 0 }) });
export type ShortItem = typeof ShortItem.static;

export const HoldListQuery = t.Object({
  ...PageQuery,
  productId: t.Optional(t.String({ format: 'uuid', description: 'Only holds with a line of this product' })),
  status: t.Optional(t.UnionEnum(holdStatuses, { default: undefined, description: 'Only holds in this status (as read now: `active` ones have not expired)' })),
  customerId: t.Optional(t.String({ minLength: 1, maxLength: 100 })),
});
export type HoldListQuery = typeof HoldListQuery.static;
