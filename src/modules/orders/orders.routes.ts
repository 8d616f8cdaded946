import { Elysia, t } from 'elysia';
import type { Credential } from '../../http/credentials.ts';
import { AppError } from '../../lib/errors.ts';
import type { AccessGate } from '../../http/gate.ts';
import { errors, IdParams, Page } from '../../http/models.ts';
import { IdempotencyHeaders, Order, OrderCounts, OrderCreate, OrderListQuery, OrderLog } from './orders.models.ts';
import type { OrdersService } from './orders.service.ts';

/** A customer token sees and works only its own customer's orders; other credentials all of them. */
const ownCustomer = (credential: Credential | undefined) => credential?.customerId;

export function ordersRoutes(orders: OrdersService, gate: AccessGate) {
  return new Elysia({ prefix: '/api/v1/orders', tags: ['Orders'] })
    .use(gate)
    .post(
      '',
      async ({ body, headers, set, status, credential }) => {
        const customerId = ownCustomer(credential);
        if (customerId !== undefined && body.customerId !== customerId) throw new AppError('forbidden', 'a customer token places orders for its own customer only');
        const { order, replayed } = await orders.place(body, headers['idempotency-key'], credential!.scope);
        set.headers.location = `/api/v1/orders/${order.id}`;
        if (replayed) set.headers['idempotent-replayed'] = 'true';
        return status(202, order);
      },
      {
        parse: 'json',
        body: OrderCreate,
        headers: IdempotencyHeaders,
        response: { 202: Order, ...errors(400, 401, 403, 409, 413, 422, 429, 503) },
        detail: {
          summary: 'Place an order',
          description:
            'With a customer token `customerId` must be its customer (403 otherwise). Answers 202 once the order is stored (durably): `status` is `reserved` when its stock was there (held for it, all lines or none) or `pending` when it waits for stock (retried with backoff); the payment is then taken asynchronously. Prices come from the catalog. Unknown or archived product, or a total beyond 999999999999.99 → 422. The units of each line come from the active locations (`ALLOCATION_STRATEGY`), split over several when no one has enough (`items[].allocations`); `locationIds` limits them to those locations, also for the retries of an order waiting for stock; an unknown or inactive one → 422 naming `body.locationIds[i]`. With `holdId`: an active hold of this customer (or a guest hold) whose items are exactly those of the order gives the order its stock where it is held (born `reserved`, never short; the hold becomes `converted`; `locationIds` is ignored); other items, an unknown hold or a hold of another customer → 422; a converted hold → 409; an expired or released hold → the order reserves afresh like any order. `Idempotency-Key` (scoped to the credential): the same key and body answer the first response again; another body → 422; the first request still in flight → 409. A 503 means the outcome is unknown: retry with the same key.',
        },
      },
    )
    .get('', ({ query, credential }) => orders.list(query, ownCustomer(credential)), {
      query: OrderListQuery,
      response: { 200: Page(Order), ...errors(401, 403, 422) },
      detail: { summary: 'List orders, newest first', description: "Filter by `status` and `customerId`. With a customer token: that customer's orders only." },
    })
    .get('/counts', () => orders.counts(), {
      response: { 200: OrderCounts, ...errors(401, 403) },
      detail: {
        summary: 'Number of orders in each status',
        description: 'Every status is present (0 when no order has it). A live view starts from these and follows `GET /api/v1/events`.',
      },
    })
    .get('/:id', ({ params, credential }) => orders.get(params.id, ownCustomer(credential)), {
      params: IdParams,
      response: { 200: Order, ...errors(401, 403, 404, 422) },
      detail: { summary: 'Get an order', description: "With a customer token, another customer's order is 404." },
    })
    .get('/:id/logs', ({ params, credential }) => orders.logs(params.id, ownCustomer(credential)), {
      params: IdParams,
      response: { 200: t.Object({ items: t.Array(OrderLog) }), ...errors(401, 403, 404, 422) },
      detail: {
        summary: "An order's log, oldest first",
        description:
          'One entry per status change and per failed attempt, refund or note. The normal steps (accepted, reserved, paid, shipped) are derived from the order\'s own timestamps (ids `accepted`, `reserved`, `processed`, `shipped`); the rest are stored rows (numeric ids).',
      },
    })
    .post('/:id/cancel', ({ params, credential }) => orders.cancel(params.id, ownCustomer(credential)), {
      params: IdParams,
      response: { 200: Order, ...errors(401, 403, 404, 409, 422) },
      detail: {
        summary: 'Cancel an order',
        description:
          'From pending, reserved or processed: reservations are released; a processed order is restocked and refunded (what is left of its charge). Cancelling a cancelled order answers 200 and changes nothing; failed or shipped → 409, and so is a processed order with shipped units (what came back is a return: `POST /api/v1/orders/{id}/returns`).',
      },
    });
}
