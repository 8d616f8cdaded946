import { Elysia } from 'elysia';
import type { AccessGate } from '../../http/gate.ts';
import { errors, IdParams } from '../../http/models.ts';
import { FulfilmentCreate, FulfilmentModel, ReturnCreate, ReturnModel } from './after-sale.models.ts';
import type { AfterSaleService } from './after-sale.service.ts';
import { IdempotencyHeaders, Order } from './orders.models.ts';

const KEY = "`Idempotency-Key` (optional, scoped to the credential): the same key and body answer the first document again (`Idempotent-Replayed: true`); another body → 422; the first request still in flight → 409.";

export function afterSaleRoutes(afterSale: AfterSaleService, gate: AccessGate) {
  return new Elysia({ prefix: '/api/v1/orders', tags: ['Orders'] })
    .use(gate)
    .post(
      '/:id/fulfilments',
      async ({ params, body, headers, set, status, credential }) => {
        const { fulfilment, replayed } = await afterSale.fulfil(params.id, body, headers['idempotency-key'], credential!.scope);
        if (replayed) set.headers['idempotent-replayed'] = 'true';
        return status(201, fulfilment);
      },
      {
        parse: 'json',
        params: IdParams,
        body: FulfilmentCreate,
        headers: IdempotencyHeaders,
        response: { 201: FulfilmentModel, ...errors(400, 401, 403, 404, 409, 413, 422, 429, 503) },
        detail: {
          summary: 'Ship part of a processed order from one location',
          description: `Units leave the location where they were allocated: its awaiting shipment falls by them. Without \`locationId\`, the one location the named units are unshipped at (several → 422: name one). A location the order has nothing at, or a product not in the order (or named twice) → 422; more than is left to ship there, or an order that is not \`processed\` → 409. The order becomes \`shipped\` when its last unit has left. Emits \`order.fulfilment.created\` (and \`order.shipped\` with the last unit). ${KEY}`,
        },
      },
    )
    .post('/:id/ship', ({ params }) => afterSale.ship(params.id), {
      params: IdParams,
      response: { 200: Order, ...errors(401, 403, 404, 409, 422, 429, 503) },
      detail: {
        summary: 'Ship everything a processed order has left',
        description:
          'Only from processed; otherwise 409. Every unit not shipped yet leaves where it was allocated: one fulfilment per location (`trackingNumber` null), each with its `order.fulfilment.created` event, then `order.shipped`.',
      },
    })
    .post(
      '/:id/returns',
      async ({ params, body, headers, set, status, credential }) => {
        const { return: returned, replayed } = await afterSale.takeReturn(params.id, body, headers['idempotency-key'], credential!.scope);
        if (replayed) set.headers['idempotent-replayed'] = 'true';
        return status(201, returned);
      },
      {
        parse: 'json',
        params: IdParams,
        body: ReturnCreate,
        headers: IdempotencyHeaders,
        response: { 201: ReturnModel, ...errors(400, 401, 403, 404, 409, 413, 422, 429, 503) },
        detail: {
          summary: 'Take back units of a shipped (or partly shipped) order',
          description: `At most what shipped and was not returned yet (else 409; an order with nothing shipped → 409). \`restock\` units are on hand again at \`locationId\` (default: where they shipped from; several → 422), with a \`return\` movement naming the return; \`damaged\` units change no count. A location that does not exist or is inactive, or a product not in the order (or named twice) → 422. With \`refund\` (default true) the provider refunds exactly Σ unitPrice × quantity of the returned units, under the return's own idempotency key: the 201 comes once it answered (\`refund.status\` \`succeeded\`), or with \`pending\` when the outcome is unknown, which the service settles by itself (a refund is never made twice, and never beyond the charge). The order's status does not change; its items count \`returned\` and \`refunded\` adds each refund that succeeded. Emits \`order.returned\`. ${KEY}`,
        },
      },
    );
}
