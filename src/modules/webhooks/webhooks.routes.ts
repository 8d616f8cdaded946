import { Elysia, t } from 'elysia';
import { errors, IdParams, Page } from '../../http/models.ts';
import {
  Delivery,
  DeliveryListQuery,
  DeliveryParams,
  ReplayAccepted,
  ReplayBody,
  RotatedSecret,
  WebhookCreate,
  WebhookCreated,
  WebhookListQuery,
  WebhookPatch,
  WebhookWithHealth,
} from './webhooks.models.ts';
import type { WebhooksService } from './webhooks.service.ts';

/** Webhook subscriptions and their delivery log (admin only: access.ts). */
export function webhooksRoutes(webhooks: WebhooksService) {
  return new Elysia({ prefix: '/api/v1/webhooks', tags: ['Webhooks'] })
    .post('', async ({ body, status }) => status(201, await webhooks.create(body)), {
      parse: 'json',
      body: WebhookCreate,
      response: { 201: WebhookCreated, ...errors(400, 401, 403, 413, 422, 429, 503) },
      detail: {
        summary: 'Subscribe a URL to events',
        description:
          'The answer carries the signing secret (`whsec_…`) once. Deliveries are signed by the Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`, `webhook-signature`). A URL the service may not call (not http/https, credentials in it, a loopback, private or link-local address, or a name resolving to one) → 422. The subscription receives the events that commit after it is created.',
      },
    })
    .get('', ({ query }) => webhooks.list(query), {
      query: WebhookListQuery,
      response: { 200: Page(WebhookWithHealth), ...errors(401, 403, 422, 429, 503) },
      detail: { summary: 'List subscriptions, newest first', description: 'Without their secrets; `health` says how delivery is going.' },
    })
    .get('/:id', ({ params }) => webhooks.get(params.id), {
      params: IdParams,
      response: { 200: WebhookWithHealth, ...errors(401, 403, 404, 422, 429, 503) },
      detail: { summary: 'Get a subscription' },
    })
    .patch('/:id', ({ params, body }) => webhooks.update(params.id, body), {
      params: IdParams,
      parse: 'json',
      body: WebhookPatch,
      response: { 200: WebhookWithHealth, ...errors(400, 401, 403, 404, 413, 422, 429, 503) },
      detail: {
        summary: 'Change a subscription',
        description: 'Enabling a disabled subscription resumes its waiting deliveries, in order, with a fresh retry window; disabling it pauses them.',
      },
    })
    .delete(
      '/:id',
      async ({ params, status }) => {
        await webhooks.remove(params.id);
        return status(204, undefined);
      },
      {
        params: IdParams,
        response: { 204: t.Void({ description: 'Deleted, with its delivery log' }), ...errors(401, 403, 404, 422, 429, 503) },
        detail: { summary: 'Delete a subscription' },
      },
    )
    .post('/:id/rotate-secret', ({ params }) => webhooks.rotateSecret(params.id), {
      params: IdParams,
      response: { 200: RotatedSecret, ...errors(401, 403, 404, 422, 429, 503) },
      detail: {
        summary: "Rotate a subscription's signing secret",
        description: 'The new secret is in this answer only. For 24 h deliveries carry two signatures, by the old and the new secret, so receivers can switch at their pace.',
      },
    })
    .get('/:id/deliveries', ({ params, query }) => webhooks.deliveries(params.id, query), {
      params: IdParams,
      query: DeliveryListQuery,
      response: { 200: Page(Delivery), ...errors(401, 403, 404, 422, 429, 503) },
      detail: { summary: 'The delivery log of a subscription, newest first', description: 'Status, attempts, the last answer (status and a bounded excerpt of its body), the next attempt.' },
    })
    .post('/:id/deliveries/:deliveryId/redeliver', async ({ params, status }) => status(202, await webhooks.redeliver(params.id, params.deliveryId)), {
      params: DeliveryParams,
      response: { 202: Delivery, ...errors(401, 403, 404, 422, 429, 503) },
      detail: { summary: 'Send the event of a delivery again', description: 'A new delivery of the same event (same `webhook-id` and body), due now, after any earlier one of the same order or product.' },
    })
    .post('/:id/replay', async ({ params, body, status }) => status(202, await webhooks.replay(params.id, body.sinceEventId)), {
      params: IdParams,
      parse: 'json',
      body: ReplayBody,
      response: { 202: ReplayAccepted, ...errors(400, 401, 403, 404, 413, 422, 429, 503) },
      detail: {
        summary: 'Deliver every matching event from one on again',
        description:
          'From `sinceEventId` (a Delivery\'s `eventId`, or an id of the event stream) on, every event the subscription asks for is delivered again, in order, as new deliveries with their original `webhook-id`s. Events older than the outbox keeps (`EVENTS_RETENTION_MS`) are gone.',
      },
    });
}
