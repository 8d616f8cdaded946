import { at, isoSql, type Executor } from '../../db/client.ts';
import { outboxText } from '../../db/outbox.ts';
import { insertEventRecords } from '../events/events.queries.ts';
import type { Webhook, WebhookEventType } from './webhooks.models.ts';

const ts = (date: Date) => date.toISOString();

/** A subscription's place in the outbox: the event `<tx>-<row>-<index>` it has written deliveries up to. */
export type Cursor = { tx: string; row: string; index: number };
export type Subscription = { id: string; events: WebhookEventType[]; cursor: Cursor };

/**
 * The enabled subscriptions nobody else is filling right now, locked until the caller's
 * transaction ends: one process at a time writes a subscription's deliveries and moves its cursor.
 */
export function lockSubscriptionsToFill(tx: Executor) {
  return tx<Subscription[]>`
    SELECT id, events, json_build_object('tx', cursor_tx::text, 'row', cursor_row::text, 'index', cursor_index) AS cursor
    FROM webhooks WHERE enabled ORDER BY id FOR UPDATE SKIP LOCKED`;
}

/** Thresholds of products whose inventory records did not carry one (rows before the stock engine fills it). */
export async function lowStockThresholds(tx: Executor, productIds: string[]): Promise<Map<string, number | null>> {
  if (productIds.length === 0) return new Map();
  const rows = await tx<{ id: string; threshold: number | null }[]>`
    SELECT id, low_stock_threshold AS threshold FROM products WHERE id = ANY(${productIds}::uuid[])`;
  return new Map(rows.map((r) => [r.id, r.threshold]));
}

export type NewDelivery = { webhookId: string; eventId: string; type: string; key: string; occurredAt: string; body: string };

export async function insertDeliveries(tx: Executor, rows: NewDelivery[], now: Date): Promise<void> {
  if (rows.length === 0) return;
  await tx`
    INSERT INTO webhook_deliveries (webhook_id, event_id, type, ordering_key, occurred_at, body, next_attempt_at)
    SELECT w, e, t, k, o::timestamptz, b, ${ts(now)}::timestamptz
    FROM unnest(${rows.map((r) => r.webhookId)}::uuid[], ${rows.map((r) => r.eventId)}::text[], ${rows.map((r) => r.type)}::text[],
                ${rows.map((r) => r.key)}::text[], ${rows.map((r) => r.occurredAt)}::text[], ${rows.map((r) => r.body)}::text[]) AS u(w, e, t, k, o, b)`;
}

export async function moveCursors(tx: Executor, moves: { id: string; cursor: Cursor }[]): Promise<void> {
  if (moves.length === 0) return;
  await tx`
    UPDATE webhooks w SET cursor_tx = u.tx::xid8, cursor_row = u.row, cursor_index = u.idx
    FROM unnest(${moves.map((m) => m.id)}::uuid[], ${moves.map((m) => m.cursor.tx)}::text[], ${moves.map((m) => m.cursor.row)}::bigint[],
                ${moves.map((m) => m.cursor.index)}::int[]) AS u(id, tx, row, idx)
    WHERE w.id = u.id`;
}

/** A delivery this process has claimed, with what it needs to send it. */
export type Claimed = {
  id: string;
  version: number;
  webhookId: string;
  eventId: string;
  type: WebhookEventType;
  body: string;
  attempts: number;
  /** Epoch milliseconds (null: never tried). */
  firstAttemptMs: number | null;
  occurredMs: number;
  url: string;
  secrets: string[];
};

export type ClaimOptions = {
  owner: string;
  now: Date;
  leaseMs: number;
  heartbeatTtlMs: number;
  /** Deliveries this process may still start, per subscription (those not listed: `room`). */
  inFlight: Map<string, number>;
  room: number;
};

/**
 * Claims due deliveries of every enabled subscription, up to the room this process has for each.
 * A delivery is due when its time has come, nobody holds it (or its holder's lease ran out or its
 * process stopped its heartbeat), and no older pending delivery of the same subscription has the
 * same ordering key: an order's (a product's) events go out one after the other, while different
 * orders go out side by side. `SKIP LOCKED` lets several processes claim at once; the version bump
 * fences out a holder that comes back late.
 */
export function claimDeliveries(sql: Executor, options: ClaimOptions) {
  const now = ts(options.now);
  const busy = [...options.inFlight.entries()];
  return sql<Claimed[]>`
    WITH busy AS (SELECT * FROM unnest(${busy.map(([id]) => id)}::uuid[], ${busy.map(([, n]) => n)}::int[]) AS b(webhook_id, n)),
    picked AS (
      SELECT d.id FROM webhooks w
      LEFT JOIN busy ON busy.webhook_id = w.id
      CROSS JOIN LATERAL (
        SELECT d.id FROM webhook_deliveries d
        WHERE d.webhook_id = w.id AND d.status = 'pending' AND d.next_attempt_at <= ${now}::timestamptz
          AND (d.lease_owner IS NULL OR d.lease_until < ${now}::timestamptz OR NOT EXISTS (
            SELECT 1 FROM nodes n WHERE n.incarnation = d.lease_owner AND n.heartbeat_at > now() - ${options.heartbeatTtlMs} * interval '1 millisecond'))
          -- The first pending delivery of its key (LIMIT 1 in id order stops at the first match, whichever index serves it).
          AND d.id = (
            SELECT e.id FROM webhook_deliveries e
            WHERE e.webhook_id = d.webhook_id AND e.ordering_key = d.ordering_key AND e.status = 'pending'
            ORDER BY e.webhook_id, e.ordering_key, e.id LIMIT 1)
        ORDER BY d.id
        LIMIT greatest(${options.room}::int - coalesce(busy.n, 0), 0)
        FOR UPDATE OF d SKIP LOCKED
      ) d
      WHERE w.enabled
    )
    UPDATE webhook_deliveries d
    SET lease_owner = ${options.owner}, lease_until = ${now}::timestamptz + ${options.leaseMs} * interval '1 millisecond', version = d.version + 1
    FROM picked, webhooks w
    WHERE d.id = picked.id AND w.id = d.webhook_id
    RETURNING d.id::text, d.version, d.webhook_id AS "webhookId", d.event_id AS "eventId", d.type, d.body, d.attempts,
      (extract(epoch FROM d.first_attempt_at) * 1000)::float8 AS "firstAttemptMs", (extract(epoch FROM d.occurred_at) * 1000)::float8 AS "occurredMs", w.url,
      array_remove(ARRAY[w.secret, CASE WHEN w.previous_secret_until > ${now}::timestamptz THEN w.previous_secret END], NULL) AS secrets`;
}

export type Outcome = {
  id: string;
  version: number;
  webhookId: string;
  status: 'pending' | 'succeeded' | 'failed';
  at: Date;
  responseStatus: number | null;
  excerpt: string | null;
  error: string | null;
  /** When to try again (pending), else null. */
  nextAttemptAt: Date | null;
};

/**
 * Records attempts, fenced on the claim they came from (a delivery taken over meanwhile is left
 * to its new holder), and each subscription's health: a success ends its failing streak, a
 * failure starts one if none is running.
 */
export async function recordOutcomes(sql: Executor, outcomes: Outcome[]): Promise<void> {
  await sql`
    WITH o AS (
      UPDATE webhook_deliveries d SET
        status = u.status, attempts = d.attempts + 1, first_attempt_at = coalesce(d.first_attempt_at, u.at),
        last_attempt_at = u.at, response_status = u.response_status, response_excerpt = u.excerpt, last_error = u.error,
        next_attempt_at = coalesce(u.next_at, d.next_attempt_at), lease_owner = NULL, lease_until = NULL
      FROM unnest(${outcomes.map((o) => o.id)}::bigint[], ${outcomes.map((o) => o.version)}::int[], ${outcomes.map((o) => o.status)}::text[],
                  ${outcomes.map((o) => ts(o.at))}::text[]::timestamptz[], ${outcomes.map((o) => o.responseStatus)}::int[], ${outcomes.map((o) => o.excerpt)}::text[],
                  ${outcomes.map((o) => o.error)}::text[], ${outcomes.map((o) => (o.nextAttemptAt ? ts(o.nextAttemptAt) : null))}::text[]::timestamptz[])
        AS u(id, version, status, at, response_status, excerpt, error, next_at)
      -- Indexable: joined on unnest alone, a generic plan may scan every delivery.
      WHERE d.id = ANY(${outcomes.map((o) => o.id)}::bigint[]) AND d.id = u.id AND d.version = u.version
      RETURNING d.webhook_id, u.status, u.at
    ), health AS (
      SELECT webhook_id, max(at) FILTER (WHERE status = 'succeeded') AS success, min(at) FILTER (WHERE status <> 'succeeded') AS failure
      FROM o GROUP BY webhook_id
    )
    UPDATE webhooks w SET
      last_success_at = coalesce(greatest(w.last_success_at, h.success), w.last_success_at),
      failing_since = CASE WHEN h.success IS NOT NULL THEN NULL ELSE coalesce(w.failing_since, h.failure) END
    FROM health h
    WHERE w.id = h.webhook_id AND (h.success IS NOT NULL OR w.failing_since IS NULL)`;
}

/**
 * Turns off the subscriptions among `ids` that have not had a success since `before`, and writes
 * one `webhookDisabled` outbox record for each in the same statement (records.ts): other
 * subscriptions hear of it as `webhook.disabled`. Its waiting deliveries stay, paused.
 */
export async function disableFailing(tx: Executor, ids: string[], before: Date, windowHours: number): Promise<string[]> {
  if (ids.length === 0) return [];
  const disabled = await tx<Webhook[]>`
    UPDATE webhooks SET enabled = false, updated_at = now(),
      disabled_reason = 'no delivery succeeded for ' || ${windowHours}::text || ' h (failing since ' || ${tx.unsafe(isoSql('failing_since'))} || ')'
    WHERE id = ANY(${ids}::uuid[]) AND enabled AND failing_since <= ${ts(before)}::timestamptz
    RETURNING id::text, url, events, description, enabled, disabled_reason AS "disabledReason", ${tx.unsafe(isoSql('created_at'))} AS "createdAt"`;
  await insertEventRecords(tx, disabled.map((webhookDisabled) => outboxText({ webhookDisabled })!));
  return disabled.map((w) => w.id);
}

/** A clean stop: deliveries this process holds go back at once (their sends are over or cut off). */
export async function releaseLeases(sql: Executor, owner: string): Promise<void> {
  await sql`UPDATE webhook_deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ${owner} AND status = 'pending'`;
}

export type DeliveryRow = {
  id: string;
  webhookId: string;
  eventId: string;
  type: WebhookEventType;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  responseStatus: number | null;
  responseExcerpt: string | null;
  lastError: string | null;
  nextAttemptAt: string;
  lastAttemptAt: string | null;
  createdAt: string;
};

const deliveryColumns = (sql: Executor) => sql`
  id::text, webhook_id AS "webhookId", event_id AS "eventId", type, status, attempts, response_status AS "responseStatus",
  response_excerpt AS "responseExcerpt", last_error AS "lastError", next_attempt_at::text AS "nextAttemptAt",
  last_attempt_at::text AS "lastAttemptAt", created_at::text AS "createdAt"`;

/** Newest first; the cursor is the last id. */
export function listDeliveries(sql: Executor, webhookId: string, options: { beforeId?: string; limit: number; status?: string }) {
  return sql<DeliveryRow[]>`
    SELECT ${deliveryColumns(sql)} FROM webhook_deliveries
    WHERE webhook_id = ${webhookId} ${options.beforeId ? sql`AND id < ${options.beforeId}::bigint` : sql``}
      ${options.status ? sql`AND status = ${options.status}` : sql``}
    ORDER BY id DESC LIMIT ${options.limit}`;
}

/** A new delivery of the same event (same `webhook-id`, same body), due now; undefined when there is no such delivery. */
export async function redeliver(sql: Executor, webhookId: string, deliveryId: string, now: Date): Promise<DeliveryRow | undefined> {
  const [row] = await sql<DeliveryRow[]>`
    INSERT INTO webhook_deliveries (webhook_id, event_id, type, ordering_key, occurred_at, body, next_attempt_at)
    SELECT webhook_id, event_id, type, ordering_key, occurred_at, body, ${ts(now)}::timestamptz
    FROM webhook_deliveries WHERE id = ${deliveryId}::bigint AND webhook_id = ${webhookId}
    RETURNING ${deliveryColumns(sql)}`;
  return row;
}

/** The delivery log keeps finished deliveries as long as the outbox keeps events; waiting ones always. */
export async function pruneDeliveries(sql: Executor, options: { olderThanMs: number; limit: number; asOf?: Date }): Promise<number> {
  const rows = await sql`
    DELETE FROM webhook_deliveries WHERE id IN (
      SELECT id FROM webhook_deliveries
      WHERE status <> 'pending' AND created_at < ${at(sql, options.asOf)} - ${options.olderThanMs} * interval '1 millisecond'
      ORDER BY id LIMIT ${options.limit})
    RETURNING 1`;
  return rows.length;
}

/** Deliveries waiting, for the metrics. */
export async function pendingCount(sql: Executor): Promise<number> {
  const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'`;
  return row!.n;
}
