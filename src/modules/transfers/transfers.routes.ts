import { Elysia } from 'elysia';
import type { AccessGate } from '../../http/gate.ts';
import { errors, IdParams, Page } from '../../http/models.ts';
import { IdempotencyHeaders } from '../orders/orders.models.ts';
import { Transfer, TransferCreate, TransferListQuery, TransferReceive } from './transfers.models.ts';
import type { TransfersService } from './transfers.service.ts';

export function transfersRoutes(transfers: TransfersService, gate: AccessGate) {
  return new Elysia({ prefix: '/api/v1/transfers', tags: ['Transfers'] })
    .use(gate)
    .post(
      '',
      async ({ body, headers, set, status, credential }) => {
        const { transfer, replayed } = await transfers.create(body, headers['idempotency-key'], credential!.scope);
        set.headers.location = `/api/v1/transfers/${transfer.id}`;
        if (replayed) set.headers['idempotent-replayed'] = 'true';
        return status(201, transfer);
      },
      {
        parse: 'json',
        body: TransferCreate,
        headers: IdempotencyHeaders,
        response: { 201: Transfer, ...errors(400, 401, 403, 409, 413, 422, 429) },
        detail: {
          summary: 'Move stock from one location to another',
          description:
            "All or nothing: each item leaves the source's onHand now (`transfer-out` movements naming the transfer) and is `incoming` at the destination (never sellable) until received. The source's available (onHand − reserved) must cover every item, else 409 naming the short ones (`shortItems`). The source as destination, an unknown or inactive location, an unknown product, or a product twice → 422 naming the field. `Idempotency-Key` (scoped to the credential): the same key and body answer the transfer as created again (`Idempotent-Replayed: true`); another body → 422; the first request still in flight → 409.",
        },
      },
    )
    .get('', ({ query }) => transfers.list(query), {
      query: TransferListQuery,
      response: { 200: Page(Transfer), ...errors(401, 403, 422) },
      detail: { summary: 'List transfers, newest first', description: 'Filter by `status`.' },
    })
    .get('/:id', ({ params }) => transfers.get(params.id), {
      params: IdParams,
      response: { 200: Transfer, ...errors(401, 403, 404, 422) },
      detail: { summary: 'Get a transfer' },
    })
    .post('/:id/receive', ({ params, body }) => transfers.receive(params.id, body.items), {
      params: IdParams,
      parse: 'json',
      body: TransferReceive,
      response: { 200: Transfer, ...errors(400, 401, 403, 404, 409, 413, 422, 429) },
      detail: {
        summary: 'Receive units of a transfer (in parts, or all at once)',
        description:
          "Moves each quantity from the destination's `incoming` to its onHand (`transfer-in` movements) and emits `transfer.received` with the Transfer. `received` once every unit arrived. More than is still in transit, or a transfer no longer in transit → 409 (`overItems` names the lines); a product not in the transfer, or a product twice → 422.",
      },
    })
    .post('/:id/cancel', ({ params }) => transfers.cancel(params.id), {
      params: IdParams,
      response: { 200: Transfer, ...errors(401, 403, 404, 409, 422, 429) },
      detail: {
        summary: 'Cancel a transfer',
        description:
          "What is still in transit goes back to the source's onHand (`transfer-cancel` movements); what was received stays at the destination. Cancelling a cancelled transfer answers 200 and changes nothing; a transfer received in full → 409.",
      },
    });
}
