import { Elysia, t } from 'elysia';
import { authPlugin, type Tokens } from '../../http/auth.ts';
import { errors, IdParams, Page } from '../../http/models.ts';
import { IdempotencyHeaders, Order, OrderCounts, OrderCreate, OrderListQuery, OrderLog } from './orders.models.ts';
import type { OrdersService } from './orders.service.ts';

export function ordersRoutes(orders: OrdersService, tokens: Tokens) {
  return new Elysia({ prefix: '/api/v1/orders', tags: ['Orders'] })
    .use(authPlugin(tokens))
    .post(
      '',
      async ({ body, headers, set, status }) => {
        const { order, replayed } = await orders.place(body, headers['idempotency-key']);
        set.headers.location = `/api/v1/orders/${order.id}`;
        if (replayed) set.headers['idempotent-replayed'] = 'true';
        return status(202, order);
      },
      {
        role: 'client',
        parse: 'json',
        body: OrderCreate,
        headers: IdempotencyHeaders,
        response: { 202: Order, ...errors(400, 401, 403, 409, 413, 422, 429) },
        detail: {
          summary: 'Place an order',
          description:
            'Answers 202 once the order is stored (durably); stock is then reserved and the payment taken asynchronously. Prices come from the catalog. Unknown or archived product → 422. `Idempotency-Key`: the same key and body answer the first response again; another body → 422; the first request still in flight → 409.',
        },
      },
    )
    .get('', ({ query }) => orders.list(query), {
      role: 'client',
      query: OrderListQuery,
      response: { 200: Page(Order), ...errors(401, 403, 422) },
      detail: { summary: 'List orders, newest first', description: 'Filter by `status` and `customerId`.' },
    })
    .get('/counts', () => orders.counts(), {
      role: 'client',
      response: { 200: OrderCounts, ...errors(401, 403) },
      detail: {
        summary: 'Number of orders in each status',
        description: 'Every status is present (0 when no order has it). A live view starts from these and follows `GET /api/v1/events`.',
      },
    })
    .get('/:id', ({ params }) => orders.get(params.id), {
      role: 'client',
      params: IdParams,
      response: { 200: Order, ...errors(401, 403, 404, 422) },
      detail: { summary: 'Get an order' },
    })
    .get('/:id/logs', ({ params }) => orders.logs(params.id), {
      role: 'client',
      params: IdParams,
      response: { 200: t.Object({ items: t.Array(OrderLog) }), ...errors(401, 403, 404, 422) },
      detail: { summary: "An order's log, oldest first", description: 'One row per status change and per failed attempt.' },
    })
    .post('/:id/cancel', ({ params }) => orders.cancel(params.id), {
      role: 'client',
      params: IdParams,
      response: { 200: Order, ...errors(401, 403, 404, 409, 422) },
      detail: {
        summary: 'Cancel an order',
        description:
          'From pending, reserved or processed: reservations are released; a processed order is restocked and refunded. Cancelling a cancelled order answers 200 and changes nothing; failed or shipped → 409.',
      },
    })
    .post('/:id/ship', ({ params }) => orders.ship(params.id), {
      role: 'admin',
      params: IdParams,
      response: { 200: Order, ...errors(401, 403, 404, 409, 422) },
      detail: { summary: 'Mark a processed order shipped', description: 'Only from processed; otherwise 409.' },
    });
}
