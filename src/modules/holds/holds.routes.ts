import { Elysia, t } from 'elysia';
import type { AccessGate } from '../../http/gate.ts';
import { errors, IdParams, Page } from '../../http/models.ts';
import { AppError } from '../../lib/errors.ts';
import { IdempotencyHeaders } from '../orders/orders.models.ts';
import { Hold, HoldCreate, HoldExtend, HoldListQuery } from './holds.models.ts';
import type { HoldsService } from './holds.service.ts';

export function holdsRoutes(holds: HoldsService, gate: AccessGate) {
  return new Elysia({ prefix: '/api/v1/holds', tags: ['Holds'] })
    .use(gate)
    .post(
      '',
      async ({ body, headers, set, status, credential }) => {
        const own = credential?.customerId;
        if (own !== undefined && body.customerId !== undefined && body.customerId !== own) throw new AppError('forbidden', 'a customer token holds stock for its own customer only');
        const { hold, replayed } = await holds.create(body, headers['idempotency-key'], credential!.scope, own);
        set.headers.location = `/api/v1/holds/${hold.id}`;
        if (replayed) set.headers['idempotent-replayed'] = 'true';
        return status(201, hold);
      },
      {
        parse: 'json',
        body: HoldCreate,
        headers: IdempotencyHeaders,
        response: { 201: Hold, ...errors(400, 401, 403, 409, 413, 422, 429, 503) },
        detail: {
          summary: 'Hold stock for a cart',
          description:
            "Takes every line's units at once, allocated like an order's (`ALLOCATION_STRATEGY`, `locationIds`), for `ttlSeconds` (30..3600, default 900), and answers once they are held and stored: 201 with the hold and its allocations. When a line is short nothing is held: 409 whose `items` names every short line with what was available. The units count in `reserved` and `held` until the hold is converted into an order (`holdId` on `POST /api/v1/orders`), released, or expires; from `expiresAt` on it reads `expired` and its stock is on sale again within 2 s. Unknown or archived product, a product twice, an unknown or inactive location → 422. With a customer token `customerId` is its customer (another → 403). `Idempotency-Key` (scoped to the credential): the same key and body answer the hold again, as it is now; another body → 422; still in flight → 409; a refused (409) request holds nothing, so retrying it tries again.",
        },
      },
    )
    .get('', ({ query, credential }) => holds.list(query, credential?.customerId), {
      query: HoldListQuery,
      response: { 200: Page(Hold), ...errors(401, 403, 422) },
      detail: {
        summary: 'List holds, newest first',
        description: "Filter by `productId` (the dashboard lists a product's active holds), `status` (as read now) and `customerId`. With a customer token: that customer's holds only.",
      },
    })
    .get('/:id', ({ params, credential }) => holds.get(params.id, credential?.customerId), {
      params: IdParams,
      response: { 200: Hold, ...errors(401, 403, 404, 422) },
      detail: { summary: 'Get a hold', description: "`status` is `expired` from `expiresAt` on. With a customer token, another customer's hold is 404." },
    })
    .post('/:id/extend', ({ params, body, credential }) => holds.extend(params.id, body.ttlSeconds, credential?.customerId), {
      params: IdParams,
      parse: 'json',
      body: HoldExtend,
      response: { 200: Hold, ...errors(400, 401, 403, 404, 409, 413, 422, 429, 503) },
      detail: {
        summary: 'Extend a hold',
        description: "Its new expiry is `ttlSeconds` (30..3600) from now. An expired, released or converted hold → 409. With a customer token, another customer's hold is 404.",
      },
    })
    .delete(
      '/:id',
      async ({ params, status, credential }) => {
        await holds.release(params.id, credential?.customerId);
        return status(204, undefined);
      },
      {
        params: IdParams,
        response: { 204: t.Void({ description: 'Released: its stock is on sale again (also when it was already released, converted or expired: nothing changes then)' }), ...errors(401, 403, 404, 422, 429, 503) },
        detail: {
          summary: 'Release a hold',
          description: "Its stock is available again at once. Repeating it, or releasing a converted or expired hold, answers 204 and changes nothing. With a customer token, another customer's hold is 404.",
        },
      },
    );
}
