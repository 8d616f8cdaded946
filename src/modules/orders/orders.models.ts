import { t } from 'elysia';
import { Int, Money, PageQuery, Timestamp, TotalMoney, Uuid } from '../../http/models.ts';
import { FulfilmentModel, ReturnModel } from './after-sale.models.ts';
import { orderStatuses, type OrderStatus } from './order-state.ts';

export const OrderStatusModel = t.UnionEnum(orderStatuses, { description: 'pending → reserved → processed → shipped; or failed / cancelled' });

export const AllocationModel = t.Object({ locationId: Uuid, quantity: Int({ minimum: 1 }) });

export const OrderItemModel = t.Object({
  productId: Uuid,
  quantity: Int({ minimum: 1 }),
  unitPrice: Money,
  allocations: t.Array(AllocationModel, { description: 'Where its units are held (several locations when no single one had enough); empty until reserved' }),
  shipped: Int({ minimum: 0, description: 'Units that have left in fulfilments' }),
  returned: Int({ minimum: 0, description: 'Units that came back in returns' }),
});

export const PaymentModel = t.Object({
  status: t.String({ description: 'pending, succeeded, declined, failed, refund_pending or refunded' }),
  reference: t.Union([t.String(), t.Null()], { description: "The provider's charge id" }),
  attempts: Int({ minimum: 0 }),
});

export const Order = t.Object({
  id: Uuid,
  customerId: t.String(),
  status: OrderStatusModel,
  items: t.Array(OrderItemModel),
  total: TotalMoney,
  attempts: Int({ minimum: 0, description: 'Reservation attempts that found too little stock' }),
  nextAttemptAt: t.Union([Timestamp, t.Null()], { description: 'When work on the order is next due (null once final)' }),
  lastError: t.Union([t.String(), t.Null()]),
  payment: t.Union([PaymentModel, t.Null()]),
  fulfilments: t.Array(FulfilmentModel, { description: 'The parcels that left, oldest first' }),
  returns: t.Array(ReturnModel, { description: 'What came back, oldest first' }),
  refunded: TotalMoney,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Order = typeof Order.static;

export const OrderCreate = t.Object({
  customerId: t.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: "The shop's id for the customer" }),
  items: t.Array(
    t.Object({ productId: Uuid, quantity: Int({ minimum: 1, maximum: 10_000 }) }),
    { minItems: 1, maxItems: 50, description: '1 to 50 lines, each product at most once' },
  ),
  locationIds: t.Optional(
    t.Array(Uuid, { minItems: 1, maxItems: 50, uniqueItems: true, description: 'Only these (active) locations may give its stock, e.g. a store for pickup; kept for its retries' }),
  ),
  holdId: t.Optional(
    t.String({ format: 'uuid', description: "An active hold of this customer with exactly these items: the order takes its stock (born `reserved`; `locationIds` is then ignored)" }),
  ),
});
export type OrderCreate = typeof OrderCreate.static;

export const IdempotencyHeaders = t.Object({
  'idempotency-key': t.Optional(
    // Printable ASCII, as the IETF draft's sf-string: header bytes beyond it arrive as Latin-1 guesses, not as the client's text.
    t.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x20-\\x7E]+$',
      description: 'Printable ASCII. Same key and body → the first answer again; other body → 422; still in flight → 409',
    }),
  ),
});

export const OrderListQuery = t.Object({
  ...PageQuery,
  // Elysia's UnionEnum carries `default: <first value>`, which would turn "no filter" into `status=pending`.
  status: t.Optional(t.UnionEnum(orderStatuses, { default: undefined, description: 'Only orders in this status' })),
  customerId: t.Optional(t.String({ minLength: 1, maxLength: 100 })),
});
export type OrderListQuery = typeof OrderListQuery.static;

const StatusCount = Int({ minimum: 0 });

/** How many orders are in each status right now: the starting point for a live view of the event stream. */
export const OrderCounts = t.Object({
  counts: t.Object(Object.fromEntries(orderStatuses.map((status) => [status, StatusCount])) as Record<OrderStatus, typeof StatusCount>),
});
export type OrderCounts = typeof OrderCounts.static;

export const OrderLog = t.Object({
  id: t.String(),
  orderId: Uuid,
  status: OrderStatusModel,
  message: t.String(),
  errorMessage: t.Union([t.String(), t.Null()]),
  processedAt: Timestamp,
});
export type OrderLog = typeof OrderLog.static;
