import { t } from 'elysia';
import { returnDispositions, refundStatuses } from '../../db/schema/fulfilments.ts';
import { Int, Timestamp, TotalMoney, Uuid } from '../../http/models.ts';

/** What happens to an order after it is paid: it ships (in parcels), and some of it may come back. */

const Units = Int({ minimum: 1, maximum: 10_000 });
const Disposition = t.UnionEnum(returnDispositions, { description: '`restock`: back on hand where it came back to; `damaged`: no count changes, recorded here only' });

export const FulfilmentModel = t.Object({
  id: Uuid,
  orderId: Uuid,
  locationId: Uuid,
  items: t.Array(t.Object({ productId: Uuid, quantity: Int({ minimum: 1 }) })),
  trackingNumber: t.Union([t.String(), t.Null()]),
  createdAt: Timestamp,
});
export type Fulfilment = typeof FulfilmentModel.static;

export const RefundModel = t.Object({
  status: t.UnionEnum(refundStatuses, {
    description: '`pending`: asked for, the outcome not known yet (the service settles it by itself); `succeeded`; `failed`: refused for good, a person must look',
  }),
  amount: TotalMoney,
  reference: t.Union([t.String(), t.Null()], { description: "The provider's refund id, once it answered" }),
});

export const ReturnModel = t.Object({
  id: Uuid,
  orderId: Uuid,
  locationId: Uuid,
  items: t.Array(t.Object({ productId: Uuid, quantity: Int({ minimum: 1 }), disposition: Disposition })),
  refund: t.Union([RefundModel, t.Null()], { description: 'Null when no refund was asked for' }),
  createdAt: Timestamp,
});
export type Return = typeof ReturnModel.static;

const LINES = { minItems: 1, maxItems: 50, description: '1 to 50 lines, each product of the order at most once' };

export const FulfilmentCreate = t.Object({
  locationId: t.Optional(t.String({ format: 'uuid', description: 'Where the parcel leaves from (default: the one location the named units are unshipped at; several → 422)' })),
  items: t.Array(t.Object({ productId: Uuid, quantity: Units }), LINES),
  trackingNumber: t.Optional(t.String({ minLength: 1, maxLength: 200, pattern: '\\S', description: "The carrier's tracking number" })),
});
export type FulfilmentCreate = typeof FulfilmentCreate.static;

export const ReturnCreate = t.Object({
  items: t.Array(t.Object({ productId: Uuid, quantity: Units, disposition: Disposition }), LINES),
  locationId: t.Optional(t.String({ format: 'uuid', description: 'Where the units came back to (default: where they shipped from; several → 422)' })),
  refund: t.Optional(t.Boolean({ default: true, description: 'Refund Σ unitPrice × quantity of the returned units (default true)' })),
});
export type ReturnCreate = typeof ReturnCreate.static;
