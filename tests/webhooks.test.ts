import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Webhook } from 'standardwebhooks';
import { loadConfig } from '../src/config.ts';
import { createWebhookReceiver, type WebhookReceiver } from '../src/modules/webhooks/receiver.ts';
import { orderRecord, webhookSettled, writeOrderLife, writeRecord } from './support/outbox.ts';
import { quietJobs, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/** Subscriptions over HTTP (API.md, "Webhooks"), and what their receivers get, signatures verified. */
let t: TestService;
let receiver: WebhookReceiver;
beforeAll(async () => {
  t = await startTestService({ ...quietJobs, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '20' });
  receiver = createWebhookReceiver();
});
afterAll(async () => {
  receiver.stop();
  await t.close();
});

const orderId = (n: number) => `01900000-0000-7000-8000-${n.toString().padStart(12, '0')}`;
const subscribe = async (body: Record<string, unknown>) => {
  const reply = await t.api.post('/api/v1/webhooks', { url: receiver.url, events: ['order.created', 'order.processed'], ...body });
  if (reply.status !== 201) throw new Error(`subscribe: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as { id: string; secret: string };
};

describe('subscriptions', () => {
  test('create answers the secret once; reads never show it; PATCH and DELETE', async () => {
    const created = await t.api.post('/api/v1/webhooks', { url: receiver.url, events: ['order.created'], description: 'ERP' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ url: receiver.url, events: ['order.created'], description: 'ERP', enabled: true, disabledReason: null });
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(() => new Webhook(created.body.secret)).not.toThrow();
    const read = await t.api.get(`/api/v1/webhooks/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body.secret).toBeUndefined();
    expect(read.body.health).toEqual({ pending: 0, failingSince: null, lastSuccessAt: null });
    expect((await t.api.get('/api/v1/webhooks')).body.items.some((w: { id: string; secret?: string }) => w.id === created.body.id && w.secret === undefined)).toBe(true);
    const patched = await t.api.patch(`/api/v1/webhooks/${created.body.id}`, { events: ['inventory.low', 'inventory.out_of_stock'], enabled: false });
    expect(patched.body).toMatchObject({ events: ['inventory.low', 'inventory.out_of_stock'], enabled: false, disabledReason: null });
    expect((await t.api.delete(`/api/v1/webhooks/${created.body.id}`)).status).toBe(204);
    expect((await t.api.get(`/api/v1/webhooks/${created.body.id}`)).status).toBe(404);
    expect((await t.api.delete(`/api/v1/webhooks/${created.body.id}`)).status).toBe(404);
  });

  test('bad input is 422 naming the field, and stores nothing', async () => {
    const before = await t.db.sql`SELECT count(*)::int AS n FROM webhooks`;
    const cases: [Record<string, unknown>, string][] = [
      [{ url: 'ftp://example.com/x', events: ['order.created'] }, 'body.url'],
      [{ url: 'http://user:pw@127.0.0.1/x', events: ['order.created'] }, 'body.url'],
      [{ url: 'not a url', events: ['order.created'] }, 'body.url'],
      [{ url: receiver.url, events: [] }, 'body.events'],
      [{ url: receiver.url, events: ['order.exploded'] }, 'body.events.0'],
      [{ url: receiver.url, events: ['order.created', 'order.created'] }, 'body.events'],
      [{ url: receiver.url }, 'body.events'],
    ];
    for (const [body, path] of cases) {
      const reply = await t.api.post('/api/v1/webhooks', body);
      expect(reply.status, JSON.stringify(body)).toBe(422);
      expect(reply.headers.get('content-type')).toBe('application/problem+json');
      expect(reply.body.errors.map((e: { path: string }) => e.path), JSON.stringify(body)).toContain(path);
    }
    expect(await t.db.sql`SELECT count(*)::int AS n FROM webhooks`).toEqual(before);
    expect((await t.api.post(`/api/v1/webhooks/${orderId(1)}/replay`, { sinceEventId: 'yesterday' })).status).toBe(422);
    expect((await t.api.post(`/api/v1/webhooks/${orderId(1)}/replay`, { sinceEventId: '1-1-0' })).status).toBe(404);
    expect((await t.api.post(`/api/v1/webhooks/${orderId(1)}/deliveries/99999999999999999999/redeliver`)).status).toBe(422);
    expect((await t.api.post(`/api/v1/webhooks/${orderId(1)}/deliveries/9223372036854775807/redeliver`)).status).toBe(404);
  });

  test('a crafted delivery-log cursor is 422, also one beyond bigint', async () => {
    const { id } = await subscribe({});
    const b64 = (key: unknown) => Buffer.from(JSON.stringify(key)).toString('base64url');
    for (const cursor of [b64(['9223372036854775808']), b64(['99999999999999999999']), b64(['x']), b64([1]), '!!!']) {
      const reply = await t.api.get(`/api/v1/webhooks/${id}/deliveries?cursor=${cursor}`);
      expect(reply.status, cursor).toBe(422);
      expect(reply.body.errors).toEqual([{ path: 'query.cursor', message: 'is invalid' }]);
    }
    expect((await t.api.get(`/api/v1/webhooks/${id}/deliveries?cursor=${b64(['9223372036854775807'])}`)).status).toBe(200);
    expect((await t.api.delete(`/api/v1/webhooks/${id}`)).status).toBe(204); // the receiver is shared with the tests below
  });
});

describe('deliveries', () => {
  test('each event once, signed by the Standard Webhooks scheme, body { type, timestamp, data } with the Order; the log has it', async () => {
    const hook = await subscribe({});
    const ids = [orderId(101), orderId(102)];
    for (const id of ids) await writeOrderLife(t.db.sql, id);
    const wanted = new Set(ids.flatMap((id) => [`order:${id}:order.created`, `order:${id}:order.processed`]));
    const got = () => receiver.received.filter((r) => r.payload && ids.includes(String(r.payload.data.id)));
    await waitFor(() => got().length >= 4, 10_000, 'four deliveries');
    await waitFor(() => webhookSettled(t.db.sql, hook.id), 10_000, 'the subscription to have nothing more to send');
    const deliveries = got();
    expect(deliveries).toHaveLength(4);
    expect(new Set(deliveries.map((d) => `order:${d.payload!.data.id}:${d.payload!.type}`))).toEqual(wanted);
    const verifier = new Webhook(hook.secret);
    for (const d of deliveries) {
      const payload = verifier.verify(d.body, { 'webhook-id': d.id, 'webhook-timestamp': d.timestamp, 'webhook-signature': d.signature }) as { type: string; timestamp: string; data: Record<string, unknown> };
      expect(Object.keys(payload).sort()).toEqual(['data', 'timestamp', 'type']);
      expect(d.id).toMatch(/^\d+-\d+-0\.order\.(created|processed)$/);
      expect(d.id.endsWith(payload.type)).toBe(true);
      expect(Math.abs(Number(d.timestamp) - Date.now() / 1000)).toBeLessThan(60);
      expect(payload.data).toMatchObject({ customerId: 'webhook-customer', total: '3.00', status: payload.type === 'order.created' ? 'pending' : 'processed' });
      expect(payload.data).not.toHaveProperty('previous');
      expect(payload.data).not.toHaveProperty('version');
    }
    // Per order: created before processed.
    for (const id of ids) expect(deliveries.filter((d) => d.payload!.data.id === id).map((d) => d.payload!.type)).toEqual(['order.created', 'order.processed']);
    const log = await t.api.get(`/api/v1/webhooks/${hook.id}/deliveries?limit=3`);
    expect(log.status).toBe(200);
    expect(log.body.items).toHaveLength(3);
    expect(log.body.nextCursor).toEqual(expect.any(String));
    const rest = await t.api.get(`/api/v1/webhooks/${hook.id}/deliveries?limit=3&cursor=${log.body.nextCursor}`);
    const all = [...log.body.items, ...rest.body.items];
    expect(all.map((d) => Number(d.id))).toEqual(all.map((d) => Number(d.id)).sort((a, b) => b - a)); // newest first
    expect(all.every((d) => d.status === 'succeeded' && d.attempts === 1 && d.responseStatus === 204 && d.nextAttemptAt === null)).toBe(true);
    expect(new Set(all.map((d) => d.eventId))).toEqual(new Set(deliveries.map((d) => d.id)));
    expect((await t.api.get(`/api/v1/webhooks/${hook.id}`)).body.health).toMatchObject({ pending: 0, failingSince: null, lastSuccessAt: expect.any(String) });
    await t.api.delete(`/api/v1/webhooks/${hook.id}`);
  });

  test('during a rotation deliveries carry two signatures, and both secrets verify them', async () => {
    const hook = await subscribe({ events: ['order.created'] });
    const rotated = await t.api.post(`/api/v1/webhooks/${hook.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(hook.secret);
    expect(Date.parse(rotated.body.previousSecretValidUntil) - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    const id = orderId(201);
    await writeRecord(t.db.sql, { v: 2, orders: [orderRecord(id, 'pending', null, 1)] });
    const delivery = await waitFor(() => receiver.received.find((r) => r.payload?.data.id === id), 10_000, 'the delivery');
    expect(delivery.signature.split(' ')).toHaveLength(2);
    const headers = { 'webhook-id': delivery.id, 'webhook-timestamp': delivery.timestamp, 'webhook-signature': delivery.signature };
    expect(() => new Webhook(hook.secret).verify(delivery.body, headers)).not.toThrow();
    expect(() => new Webhook(rotated.body.secret).verify(delivery.body, headers)).not.toThrow();
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(delivery.body, headers)).toThrow();
    await t.api.delete(`/api/v1/webhooks/${hook.id}`);
  });

  test('redeliver sends the same event again (same webhook-id and body); replay delivers everything from an event on', async () => {
    const hook = await subscribe({ events: ['order.created', 'order.reserved', 'order.processed'] });
    const id = orderId(301);
    await writeOrderLife(t.db.sql, id);
    const mine = () => receiver.received.filter((r) => r.payload?.data.id === id);
    await waitFor(() => mine().length >= 3, 10_000, 'the order life');
    const [first, second] = mine();
    const log = (await t.api.get(`/api/v1/webhooks/${hook.id}/deliveries`)).body.items as { id: string; eventId: string }[];
    const firstDelivery = log.find((d) => d.eventId === first!.id)!;
    const again = await t.api.post(`/api/v1/webhooks/${hook.id}/deliveries/${firstDelivery.id}/redeliver`);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ eventId: first!.id, status: 'pending', attempts: 0 });
    await waitFor(() => mine().length >= 4, 10_000, 'the redelivery');
    expect(mine()[3]!.id).toBe(first!.id);
    expect(mine()[3]!.body).toBe(first!.body);

    // The same id with leading zeros is the same event (found by the fuzz test: it was a 500).
    const padded = second!.id.replace(/^(\d+)-(\d+)-/, (_, tx: string, row: string) => `0${tx}-00${row}-`);
    const replay = await t.api.post(`/api/v1/webhooks/${hook.id}/replay`, { sinceEventId: padded });
    expect(replay.status).toBe(202);
    await waitFor(() => mine().length >= 6, 10_000, 'the replay');
    await waitFor(() => webhookSettled(t.db.sql, hook.id), 10_000, 'the subscription to have nothing more to send');
    expect(mine().slice(4).map((r) => r.payload!.type)).toEqual(['order.reserved', 'order.processed']);
    expect(mine()).toHaveLength(6);
    await t.api.delete(`/api/v1/webhooks/${hook.id}`);
  });
});

describe('configuration', () => {
  test('webhook variables are checked at start, every problem in one message', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ NODE_ENV: 'test', ...env });
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    const message = problems({ WEBHOOK_ALLOW_PRIVATE: 'yes', WEBHOOK_RETRY_WINDOW_MS: '3600000', WEBHOOK_TIMEOUT_MS: '0', WEBHOOK_EVENT_HOLD_MAX_MS: '60000' });
    expect(message).toContain('WEBHOOK_ALLOW_PRIVATE must be "true" or "false", got "yes"');
    expect(message).toContain('WEBHOOK_RETRY_WINDOW_MS must be an integer between 86400000');
    expect(message).toContain('WEBHOOK_TIMEOUT_MS must be an integer between 100');
    expect(message).toContain('WEBHOOK_EVENT_HOLD_MAX_MS must not be below EVENTS_RETENTION_MS');
    expect(problems({ WEBHOOK_RETRY_BASE_MS: '600000', WEBHOOK_RETRY_MAX_MS: '60000' })).toContain('WEBHOOK_RETRY_MAX_MS must not be below WEBHOOK_RETRY_BASE_MS');
    expect(loadConfig({ NODE_ENV: 'test' }).webhooks).toMatchObject({ allowPrivate: false, retryWindowMs: 86_400_000, maxInFlight: 256 });
  });
});
