import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { claimDeliveries } from '../src/modules/webhooks/deliveries.queries.ts';
import { createWebhookReceiver } from '../src/modules/webhooks/receiver.ts';
import { freePort } from './support/process.ts';
import { orderRecord, writeRecord } from './support/outbox.ts';
import { collectEvents } from './support/events.ts';
import { quietJobs, startTestService, tokens, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * The 24-hour retry window on an injected clock: a receiver that is down for the whole test, a
 * day passing in an hour-long steps, no sleeping.
 */
const HOUR = 3_600_000;
let clockMs = Date.now();
let t: TestService;
const watcher = createWebhookReceiver();
beforeAll(async () => {
  t = await startTestService(
    { ...quietJobs, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '20', WEBHOOK_RETRY_BASE_MS: '60000', WEBHOOK_RETRY_MAX_MS: String(HOUR), WEBHOOK_TIMEOUT_MS: '500' },
    { serviceOptions: { clock: { now: () => clockMs, random: () => 0.5 } } },
  );
});
afterAll(async () => {
  watcher.stop();
  await t.close();
});

/** The deliveries a claim would take now (on the injected clock), in a transaction that is rolled back. */
async function claimableNow() {
  const connection = await t.db.sql.reserve();
  try {
    await connection`BEGIN`;
    const now = new Date(clockMs);
    return await claimDeliveries(connection, { owner: t.service.node.incarnation, now, leaseMs: 60_000, heartbeatTtlMs: t.config.heartbeatTtlMs, inFlight: new Map(), room: 100 });
  } finally {
    await connection`ROLLBACK`;
    connection.release();
  }
}

const attemptsOf = async (hook: string) => (await t.db.sql<{ attempts: number; status: string }[]>`SELECT attempts, status FROM webhook_deliveries WHERE webhook_id = ${hook} ORDER BY id`)[0];

describe('a receiver down for the whole test', () => {
  test('is retried with backoff for 24 h, then the delivery fails, the subscription is disabled and webhook.disabled goes out', async () => {
    const down = `http://127.0.0.1:${await freePort()}/nobody-home`;
    const hook = (await t.api.post('/api/v1/webhooks', { url: down, events: ['order.created', 'order.reserved'] })).body;
    const watching = (await t.api.post('/api/v1/webhooks', { url: watcher.url, events: ['webhook.disabled'] })).body;
    await writeRecord(t.db.sql, { v: 2, orders: [orderRecord('01900000-0000-7000-8000-00000000d00d', 'pending', null, 1)] });
    // The same order's next event: it waits behind the first.
    await writeRecord(t.db.sql, { v: 2, orders: [orderRecord('01900000-0000-7000-8000-00000000d00d', 'reserved', 'pending', 2)] });
    const start = clockMs;
    await waitFor(async () => (await attemptsOf(hook.id))?.attempts === 1, 5_000, 'the first attempt');
    const first = (await t.api.get(`/api/v1/webhooks/${hook.id}/deliveries`)).body.items.at(-1);
    expect(first).toMatchObject({ status: 'pending', attempts: 1, responseStatus: null, lastError: 'connection refused' });
    // Backoff with the random source at 0.5: half of 60 s, 120 s, 240 s, ... up to half of an hour's cap.
    expect(Date.parse(first.nextAttemptAt) - start).toBe(30_000);
    const gaps: number[] = [];
    let attempts = 1;
    while (clockMs - start < 25 * HOUR) {
      const before = (await attemptsOf(hook.id))!;
      if (before.status !== 'pending') break;
      const due = Date.parse((await t.api.get(`/api/v1/webhooks/${hook.id}/deliveries`)).body.items.at(-1).nextAttemptAt);
      gaps.push(due - clockMs);
      clockMs = Math.max(clockMs, due);
      await t.service.webhooks.dispatcher.claim();
      await waitFor(async () => (await attemptsOf(hook.id))!.attempts > before.attempts, 5_000, `attempt ${before.attempts + 1}`);
      attempts++;
    }
    expect(gaps.slice(0, 4)).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(HOUR);
    const last = await t.api.get(`/api/v1/webhooks/${hook.id}`);
    expect(last.body).toMatchObject({ enabled: false, disabledReason: expect.stringContaining('no delivery succeeded for 24 h') });
    expect(clockMs - start).toBeGreaterThanOrEqual(24 * HOUR);
    const log = (await t.api.get(`/api/v1/webhooks/${hook.id}/deliveries`)).body.items;
    const gaveUp = log.at(-1);
    expect(gaveUp).toMatchObject({ status: 'failed', nextAttemptAt: null, lastError: 'connection refused' });
    expect(gaveUp.attempts).toBe(attempts);
    expect(Date.parse(gaveUp.lastAttemptAt) - start).toBeGreaterThanOrEqual(24 * HOUR);
    // The order's next event waited behind it, and now waits with its subscription: nothing is claimed for a disabled one.
    expect(log[0]).toMatchObject({ status: 'pending', attempts: 0, type: 'order.reserved' });
    const waiting = async () => (await t.db.sql`SELECT version, lease_owner, attempts FROM webhook_deliveries WHERE webhook_id = ${hook.id} AND type = 'order.reserved'`)[0];
    const before = await waiting();
    clockMs += 2 * HOUR;
    await t.service.webhooks.dispatcher.claim();
    // What a claim at this clock takes, run and rolled back: nothing of the disabled subscription, though its delivery is due.
    expect((await claimableNow()).filter((d) => d.webhookId === hook.id)).toEqual([]);
    expect(await waiting()).toEqual(before); // never claimed (a claim bumps the version and sets the lease), never attempted
    expect((await t.api.get(`/api/v1/webhooks/${hook.id}/deliveries`)).body.items[0].attempts).toBe(log[0].attempts);

    // Other subscriptions hear of it; the event stream, open to storefront credentials, does not carry it (it has the URL).
    const [record] = await t.db.sql`SELECT changes FROM events WHERE changes::jsonb ? 'webhookDisabled'`;
    expect(record!.changes.webhookDisabled).toMatchObject({ id: hook.id, url: down, enabled: false });
    await waitFor(() => watcher.received.length > 0, 5_000, 'webhook.disabled at the watching subscription');
    expect(watcher.received[0]!.payload).toMatchObject({ type: 'webhook.disabled', data: { id: hook.id, url: down, enabled: false, disabledReason: last.body.disabledReason } });
    const marker = '01900000-0000-7000-8000-00000000d0ff';
    await writeRecord(t.db.sql, { v: 2, orders: [orderRecord(marker, 'pending', null, 1)] });
    const streamed = await collectEvents(t.service.app, tokens.admin, (events) => events.some((e) => e.data.id === marker), { 'last-event-id': '0-0-0' });
    expect(streamed.filter((e) => e.event === 'order.status')).toHaveLength(3);
    expect(streamed.some((e) => e.event.startsWith('webhook.'))).toBe(false);

    // Enabled again: the waiting delivery is due at once, with a fresh window.
    const enabled = await t.api.patch(`/api/v1/webhooks/${hook.id}`, { enabled: true });
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null, health: { failingSince: null, pending: 1 } });
    await waitFor(async () => (await t.api.get(`/api/v1/webhooks/${hook.id}/deliveries`)).body.items[0].attempts > log[0].attempts, 5_000, 'resumed');
    expect((await t.api.get(`/api/v1/webhooks/${hook.id}`)).body.enabled).toBe(true);
    await t.api.delete(`/api/v1/webhooks/${watching.id}`);
  }, 60_000);
});

describe('the outbox keeps what a subscription has not taken', () => {
  test('past the retention an event stays while a subscription still needs it, and goes at the hold bound', async () => {
    // The prune itself, as of the test's clock (its schedule here is yearly: ticks would share one slot).
    const prune = () => t.service.scheduler.job('outbox-prune').run(new Date(clockMs));
    const paused = (await t.api.post('/api/v1/webhooks', { url: watcher.url, events: ['order.created'], enabled: false })).body;
    await writeRecord(t.db.sql, { v: 2, orders: [orderRecord('01900000-0000-7000-8000-00000000e001', 'pending', null, 1)] });
    const id = (await t.db.sql<{ id: string }[]>`SELECT max(id)::text AS id FROM events`)[0]!.id;
    const aged = async (ms: number) => t.db.sql`UPDATE events SET created_at = ${new Date(clockMs - ms).toISOString()}::timestamptz WHERE id = ${id}`;
    const kept = async () => (await t.db.sql`SELECT 1 FROM events WHERE id = ${id}`).length === 1;
    await aged(4 * 24 * HOUR); // past the 3 days of EVENTS_RETENTION_MS
    await prune();
    expect(await kept()).toBe(true);
    await aged(8 * 24 * HOUR); // past the 7 days of WEBHOOK_EVENT_HOLD_MAX_MS
    await prune();
    expect(await kept()).toBe(false);
    await t.api.delete(`/api/v1/webhooks/${paused.id}`);
  });
});
