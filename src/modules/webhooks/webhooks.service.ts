import { iso, type Sql } from '../../db/client.ts';
import { invalid, notFound } from '../../lib/errors.ts';
import { decodeCursor, isBigintKey, isUuidKey, pageOf } from '../../lib/paging.ts';
import { PG_BIGINT_MAX } from '../../lib/bounds.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Capabilities } from '../capabilities.ts';
import { parseEventId } from '../events/event-hub.ts';
import * as dq from './deliveries.queries.ts';
import { OutboundRefused, parseWebhookUrl, type OutboundPolicy } from './outbound.ts';
import { newSecret } from './signing.ts';
import type { Delivery, DeliveryListQuery, WebhookCreate, WebhookCreated, WebhookPatch, WebhookWithHealth } from './webhooks.models.ts';
import * as q from './webhooks.queries.ts';

/** API.md: for 24 h after a rotation, deliveries carry signatures by the old and the new secret. */
const ROTATION_OVERLAP_MS = 86_400_000;

const toWebhook = (row: q.WebhookRow): WebhookWithHealth => ({
  id: row.id,
  url: row.url,
  events: row.events,
  description: row.description,
  enabled: row.enabled,
  disabledReason: row.disabledReason,
  createdAt: iso(row.createdAt),
  health: { pending: row.pending, failingSince: iso(row.failingSince), lastSuccessAt: iso(row.lastSuccessAt) },
});

const toDelivery = (row: dq.DeliveryRow): Delivery => ({
  ...row,
  nextAttemptAt: row.status === 'pending' ? iso(row.nextAttemptAt) : null,
  lastAttemptAt: iso(row.lastAttemptAt),
  createdAt: iso(row.createdAt),
});

/** Subscriptions (admin only: access.ts), their delivery log, redelivery and replay. */
export class WebhooksService {
  constructor(
    private readonly sql: Sql,
    private readonly policy: OutboundPolicy,
    private readonly capabilities: Capabilities,
    private readonly clock: Clock,
    /** Called when deliveries became due now (a redelivery, an enabled subscription): no need to wait for the next poll. */
    private readonly onDue: () => void = () => {},
  ) {}

  /** 422 for a URL the service may not call: its form, and the addresses its host resolves to now. */
  private async checkUrl(text: string): Promise<string> {
    const url = parseWebhookUrl(text);
    if (typeof url === 'string') throw invalid('body.url', url);
    try {
      await this.policy.pin(url);
    } catch (error) {
      if (!(error instanceof OutboundRefused)) throw error;
      throw invalid('body.url', `may not be called: ${error.message}`);
    }
    return url.toString();
  }

  async create(input: WebhookCreate): Promise<WebhookCreated> {
    this.capabilities.require('webhooks');
    const url = await this.checkUrl(input.url);
    const secret = newSecret();
    const row = await q.insertWebhook(this.sql, { id: Bun.randomUUIDv7(), url, events: input.events, description: input.description ?? '', enabled: input.enabled ?? true, secret });
    return { ...toWebhook(row), secret };
  }

  async list(query: { limit?: number; cursor?: string }) {
    this.capabilities.require('webhooks');
    const limit = query.limit ?? 50;
    const before = decodeCursor(query.cursor, isUuidKey);
    return pageOf(await q.listWebhooks(this.sql, before?.[0], limit + 1), limit, toWebhook, (row) => [row.id]);
  }

  async get(id: string): Promise<WebhookWithHealth> {
    this.capabilities.require('webhooks');
    const row = await q.findWebhook(this.sql, id);
    if (!row) throw notFound(`webhook ${id}`);
    return toWebhook(row);
  }

  async update(id: string, patch: WebhookPatch): Promise<WebhookWithHealth> {
    this.capabilities.require('webhooks');
    const url = patch.url === undefined ? undefined : await this.checkUrl(patch.url);
    if (!(await q.updateWebhook(this.sql, id, { ...patch, url }, new Date(this.clock.now())))) throw notFound(`webhook ${id}`);
    if (patch.enabled) this.onDue();
    return this.get(id);
  }

  async remove(id: string): Promise<void> {
    this.capabilities.require('webhooks');
    if (!(await q.deleteWebhook(this.sql, id))) throw notFound(`webhook ${id}`);
  }

  async rotateSecret(id: string): Promise<{ secret: string; previousSecretValidUntil: string }> {
    this.capabilities.require('webhooks');
    const secret = newSecret();
    const until = new Date(this.clock.now() + ROTATION_OVERLAP_MS);
    if (!(await q.rotateSecret(this.sql, id, secret, until))) throw notFound(`webhook ${id}`);
    return { secret, previousSecretValidUntil: until.toISOString() };
  }

  async deliveries(id: string, query: DeliveryListQuery) {
    this.capabilities.require('webhooks');
    // Whether it exists, without counting its backlog (which `get` does, for its health).
    if (!(await q.webhookExists(this.sql, id))) throw notFound(`webhook ${id}`);
    const limit = query.limit ?? 50;
    const before = decodeCursor(query.cursor, isBigintKey);
    return pageOf(await dq.listDeliveries(this.sql, id, { beforeId: before?.[0], limit: limit + 1, status: query.status }), limit, toDelivery, (row) => [row.id]);
  }

  /** The event of a delivery, sent again as a new delivery (same `webhook-id`), due now. */
  async redeliver(id: string, deliveryId: string): Promise<Delivery> {
    this.capabilities.require('webhooks');
    const row = BigInt(deliveryId) > PG_BIGINT_MAX ? undefined : await dq.redeliver(this.sql, id, deliveryId, new Date(this.clock.now()));
    if (!row) throw notFound(`delivery ${deliveryId} of webhook ${id}`);
    this.onDue();
    return toDelivery(row);
  }

  /** Every matching event from `sinceEventId` on (a Delivery's `eventId` or a stream id), delivered again in order. */
  async replay(id: string, sinceEventId: string): Promise<{ sinceEventId: string }> {
    this.capabilities.require('webhooks');
    const position = parseEventId(sinceEventId.split('.')[0]!, 'body.sinceEventId');
    if (!(await q.rewindCursor(this.sql, id, { tx: position.tx, row: position.id, index: position.index }))) throw notFound(`webhook ${id}`);
    this.onDue();
    return { sinceEventId };
  }
}
