import type { Executor, Sql } from '../../db/client.ts';
import { PG_BIGINT_MAX, PG_INT_MAX } from '../../lib/bounds.ts';
import { positionTxNow } from '../events/events.queries.ts';
import type { WebhookEventType } from './webhooks.models.ts';

export type WebhookRow = {
  id: string;
  url: string;
  events: WebhookEventType[];
  description: string;
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
  failingSince: string | null;
  lastSuccessAt: string | null;
  pending: number;
};

const columns = (sql: Executor) => sql`
  w.id, w.url, w.events, w.description, w.enabled, w.disabled_reason AS "disabledReason", w.created_at::text AS "createdAt",
  w.failing_since::text AS "failingSince", w.last_success_at::text AS "lastSuccessAt",
  (SELECT count(*)::int FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending') AS pending`;

/** Created at the outbox's current position: a subscription gets the events that commit after it exists. */
export async function insertWebhook(sql: Executor, hook: { id: string; url: string; events: string[]; description: string; enabled: boolean; secret: string }) {
  const [row] = await sql<WebhookRow[]>`
    WITH w AS (
      INSERT INTO webhooks (id, url, events, description, enabled, secret, cursor_tx, cursor_row, cursor_index)
      VALUES (${hook.id}, ${hook.url}, ${hook.events}::text[], ${hook.description}, ${hook.enabled}, ${hook.secret},
              ${positionTxNow(sql)}::text::xid8, ${String(PG_BIGINT_MAX)}::bigint, ${PG_INT_MAX}::int)
      RETURNING *
    )
    SELECT ${columns(sql)} FROM w`;
  return row!;
}

export async function findWebhook(sql: Executor, id: string): Promise<WebhookRow | undefined> {
  const [row] = await sql<WebhookRow[]>`SELECT ${columns(sql)} FROM webhooks w WHERE w.id = ${id}`;
  return row;
}

export async function webhookExists(sql: Executor, id: string): Promise<boolean> {
  const rows = await sql`SELECT 1 FROM webhooks WHERE id = ${id}`;
  return rows.length > 0;
}

/** Newest first; the cursor is the last id (UUIDv7, time-ordered). */
export function listWebhooks(sql: Executor, beforeId: string | undefined, limit: number) {
  return sql<WebhookRow[]>`
    SELECT ${columns(sql)} FROM webhooks w ${beforeId ? sql`WHERE w.id < ${beforeId}` : sql``}
    ORDER BY w.id DESC LIMIT ${limit}`;
}

export type WebhookChange = { url?: string; events?: string[]; description?: string; enabled?: boolean };

/**
 * Applies a change. Enabling a subscription that was disabled clears why, forgets its failing
 * streak and makes its waiting deliveries due now with a fresh retry window; disabling by hand
 * leaves them waiting (nothing is dropped, nothing is sent).
 */
export async function updateWebhook(sql: Sql, id: string, change: WebhookChange, now: Date): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [before] = await tx<{ enabled: boolean }[]>`SELECT enabled FROM webhooks WHERE id = ${id} FOR UPDATE`;
    if (!before) return false;
    const enabling = change.enabled === true && !before.enabled;
    await tx`
      UPDATE webhooks SET
        url = coalesce(${change.url ?? null}::text, url),
        events = coalesce(${change.events ?? null}::text[], events),
        description = coalesce(${change.description ?? null}::text, description),
        enabled = coalesce(${change.enabled ?? null}::boolean, enabled),
        disabled_reason = CASE WHEN ${change.enabled ?? null}::boolean IS NULL THEN disabled_reason ELSE NULL END,
        failing_since = CASE WHEN ${enabling} THEN NULL ELSE failing_since END,
        updated_at = now()
      WHERE id = ${id}`;
    if (enabling) {
      await tx`
        UPDATE webhook_deliveries SET next_attempt_at = ${now.toISOString()}::timestamptz, first_attempt_at = NULL
        WHERE webhook_id = ${id} AND status = 'pending'`;
    }
    return true;
  });
}

export async function deleteWebhook(sql: Executor, id: string): Promise<boolean> {
  const rows = await sql`DELETE FROM webhooks WHERE id = ${id} RETURNING 1`;
  return rows.length > 0;
}

/** The current secret signs alongside the new one until `overlapUntil`; a secret older than that is dropped. */
export async function rotateSecret(sql: Executor, id: string, secret: string, overlapUntil: Date): Promise<boolean> {
  const rows = await sql`
    UPDATE webhooks SET previous_secret = secret, previous_secret_until = ${overlapUntil.toISOString()}::timestamptz,
      secret = ${secret}, updated_at = now()
    WHERE id = ${id} RETURNING 1`;
  return rows.length > 0;
}

/**
 * Delivers the events from `position` on again: the subscription's cursor goes back to just
 * before it (never forward: events after the cursor are still to come anyway) and the enqueuer
 * writes them anew, in order. Deliveries already written stay as they are.
 */
export async function rewindCursor(sql: Executor, id: string, position: { tx: string; row: string; index: number }): Promise<boolean> {
  const [row] = await sql<{ found: boolean }[]>`
    WITH p AS (SELECT ${position.tx}::xid8 AS tx, ${position.row}::bigint AS row, ${position.index - 1}::int AS idx),
    u AS (
      UPDATE webhooks w SET cursor_tx = p.tx, cursor_row = p.row, cursor_index = p.idx, updated_at = now()
      FROM p WHERE w.id = ${id} AND (p.tx, p.row, p.idx) < (w.cursor_tx, w.cursor_row, w.cursor_index)
      RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = ${id}) AS found`;
  return row!.found;
}
