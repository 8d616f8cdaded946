import { t } from 'elysia';
import { Int, PageQuery, Timestamp, Uuid } from '../../http/models.ts';
import { webhookEventTypes, type WebhookEventType } from './event-types.ts';

export { webhookEventTypes, type WebhookEventType };

export const WebhookEventTypeModel = t.UnionEnum(webhookEventTypes, { default: undefined });

const Url = t.String({
  minLength: 1,
  maxLength: 2000,
  description: 'http or https, no credentials; loopback, private and link-local addresses are refused unless WEBHOOK_ALLOW_PRIVATE=true',
  examples: ['https://erp.example/hooks/stockroom'],
});
const Events = t.Array(WebhookEventTypeModel, { minItems: 1, maxItems: webhookEventTypes.length, uniqueItems: true, description: 'The event types to deliver' });
const Description = t.String({ maxLength: 500 });

export const WebhookHealth = t.Object({
  pending: Int({ minimum: 0, description: 'Deliveries waiting to be sent or retried' }),
  failingSince: t.Union([Timestamp, t.Null()], { description: 'The first failure since the last success; 24 h of failures disable the subscription' }),
  lastSuccessAt: t.Union([Timestamp, t.Null()]),
});

export const Webhook = t.Object({
  id: Uuid,
  url: t.String(),
  events: t.Array(WebhookEventTypeModel),
  description: t.String(),
  enabled: t.Boolean(),
  disabledReason: t.Union([t.String(), t.Null()], { description: 'Why the service disabled it (null when enabled, or disabled by an admin)' }),
  createdAt: Timestamp,
});
export type Webhook = typeof Webhook.static;

export const WebhookWithHealth = t.Composite([Webhook, t.Object({ health: WebhookHealth })]);
export type WebhookWithHealth = typeof WebhookWithHealth.static;

const Secret = t.String({ description: '`whsec_<base64>`: shown only in this answer; verify deliveries with it (Standard Webhooks)' });
export const WebhookCreated = t.Composite([WebhookWithHealth, t.Object({ secret: Secret })]);
export type WebhookCreated = typeof WebhookCreated.static;
export const RotatedSecret = t.Object({ secret: Secret, previousSecretValidUntil: Timestamp });

export const WebhookCreate = t.Object({ url: Url, events: Events, description: t.Optional(Description), enabled: t.Optional(t.Boolean({ default: true })) });
export type WebhookCreate = typeof WebhookCreate.static;

export const WebhookPatch = t.Object(
  { url: t.Optional(Url), events: t.Optional(Events), description: t.Optional(Description), enabled: t.Optional(t.Boolean()) },
  { minProperties: 1, description: 'At least one of url, events, description, enabled. Enabling a disabled subscription resumes its deliveries where they stopped.' },
);
export type WebhookPatch = typeof WebhookPatch.static;

export const deliveryStatuses = ['pending', 'succeeded', 'failed'] as const;

export const Delivery = t.Object({
  id: t.String({ pattern: '^[1-9][0-9]*$', description: 'Server-assigned id' }),
  webhookId: Uuid,
  eventId: t.String({ description: 'The `webhook-id` header: the same on every retry and redelivery of one event' }),
  type: WebhookEventTypeModel,
  status: t.UnionEnum(deliveryStatuses, { default: undefined }),
  attempts: Int({ minimum: 0 }),
  responseStatus: t.Union([Int(), t.Null()], { description: 'The HTTP status of the last attempt (null: no answer)' }),
  responseExcerpt: t.Union([t.String(), t.Null()], { description: 'The start of the last answer body (bounded)' }),
  lastError: t.Union([t.String(), t.Null()], { description: 'Why the last attempt failed' }),
  nextAttemptAt: t.Union([Timestamp, t.Null()], { description: 'When it is sent (again); null once it succeeded or failed for good' }),
  lastAttemptAt: t.Union([Timestamp, t.Null()]),
  createdAt: Timestamp,
});
export type Delivery = typeof Delivery.static;

export const WebhookListQuery = t.Object({ ...PageQuery });
export const DeliveryListQuery = t.Object({ ...PageQuery, status: t.Optional(t.UnionEnum(deliveryStatuses, { default: undefined, description: 'Only deliveries in this status' })) });
export type DeliveryListQuery = typeof DeliveryListQuery.static;

export const DeliveryParams = t.Object({
  id: Uuid,
  deliveryId: t.String({ pattern: '^[1-9][0-9]{0,18}$', description: 'A delivery of this subscription' }),
});

/** `<tx>-<row>-<index>`, optionally `.<type>`: a Delivery's `eventId`, or an id of the event stream. */
export const ReplayBody = t.Object({
  sinceEventId: t.String({ minLength: 5, maxLength: 100, pattern: '^[0-9]{1,20}-[0-9]{1,19}-[0-9]{1,6}(\\.[a-z_.]{1,40})?$', description: 'A Delivery\'s `eventId` (or an event stream id): every matching event from that one on is delivered again' }),
});
export const ReplayAccepted = t.Object({ sinceEventId: t.String() });
