import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createWebhookReceiver, type ReceivedDelivery, type ReceiverOptions, type WebhookReceiver } from '../src/modules/webhooks/receiver.ts';
import { inventoryRecord, webhookSettled, writeOrderLife, writeOrderStep, writeRecord } from './support/outbox.ts';
import { quietJobs, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/** The delivery engine against receivers that fail, go slowly, or answer out of step. */
let t: TestService;
const receivers: WebhookReceiver[] = [];
beforeAll(async () => {
  t = await startTestService({
    ...quietJobs,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_POLL_MS: '20',
    WEBHOOK_RETRY_BASE_MS: '10',
    WEBHOOK_RETRY_MAX_MS: '1000',
    WEBHOOK_TIMEOUT_MS: '500',
    WEBHOOK_MAX_IN_FLIGHT: '8',
  });
});
afterAll(async () => {
  for (const receiver of receivers) receiver.stop();
  await t.close();
});

function receiver(options: ReceiverOptions = {}) {
  const created = createWebhookReceiver(options);
  receivers.push(created);
  return created;
}
async function subscribe(url: string, events: string[]) {
  const reply = await t.api.post('/api/v1/webhooks', { url, events });
  expect(reply.status).toBe(201);
  return reply.body as { id: string; secret: string };
}
let next = 0;
const newOrderId = () => `01900000-0000-7000-8000-${(++next + 5000).toString().padStart(12, '0')}`;
const orderTypes = ['order.created', 'order.reserved', 'order.processed'];

describe('retries', () => {
  test('a receiver that fails 3 times then accepts gets each event once, in order', async () => {
    let answered = 0;
    const accepted: ReceivedDelivery[] = [];
    const refused: ReceivedDelivery[] = [];
    const flaky = receiver({
      respond: (delivery) => {
        const ok = ++answered > 3;
        (ok ? accepted : refused).push(delivery);
        return new Response(ok ? 'thanks' : 'not now', { status: ok ? 200 : 503 });
      },
    });
    const hook = await subscribe(flaky.url, orderTypes);
    const orders = [newOrderId(), newOrderId()];
    for (const id of orders) await writeOrderLife(t.db.sql, id);
    await waitFor(() => accepted.length >= 6, 15_000, 'six accepted deliveries');
    await waitFor(() => webhookSettled(t.db.sql, hook.id), 10_000, 'the subscription to have nothing more to send');
    expect(refused).toHaveLength(3);
    expect(accepted).toHaveLength(6);
    expect(new Set(accepted.map((r) => r.id)).size).toBe(6);
    for (const r of refused) expect(accepted.some((a) => a.id === r.id && a.body === r.body)).toBe(true); // retried, same id and body
    for (const id of orders) expect(accepted.filter((r) => r.payload!.data.id === id).map((r) => r.payload!.type)).toEqual(orderTypes);
    const log = (await t.api.get(`/api/v1/webhooks/${hook.id}/deliveries?status=succeeded`)).body.items as { eventId: string; attempts: number; responseStatus: number; responseExcerpt: string | null }[];
    expect(log).toHaveLength(6);
    expect(log.reduce((sum, d) => sum + d.attempts, 0)).toBe(9);
    expect(log.every((d) => d.responseStatus === 200 && d.responseExcerpt === 'thanks')).toBe(true);
    await t.api.delete(`/api/v1/webhooks/${hook.id}`);
  });

  test('a failed attempt keeps the answer status and a bounded excerpt of its body', async () => {
    let calls = 0;
    const chatty = receiver({ respond: () => new Response('x'.repeat(100_000), { status: ++calls === 1 ? 500 : 204 }) });
    const hook = await subscribe(chatty.url, ['order.created']);
    await writeOrderLife(t.db.sql, newOrderId());
    await waitFor(() => chatty.received.length >= 2, 10_000, 'the retry');
    await waitFor(async () => (await t.api.get(`/api/v1/webhooks/${hook.id}/deliveries`)).body.items[0]?.status === 'succeeded', 5_000, 'success recorded');
    const [row] = await t.db.sql`SELECT attempts, response_status, length(response_excerpt) AS excerpt FROM webhook_deliveries WHERE webhook_id = ${hook.id}`;
    expect(row).toEqual({ attempts: 2, response_status: 204, excerpt: null });
    const failed = await t.db.sql`SELECT last_error FROM webhook_deliveries WHERE webhook_id = ${hook.id}`;
    expect(failed[0]!.last_error).toBeNull();
    await t.api.delete(`/api/v1/webhooks/${hook.id}`);
    // The excerpt of a failure is kept while it is the last answer: a receiver failing for good.
    const failing = receiver({ respond: () => new Response(`broken ${'y'.repeat(100_000)}`, { status: 502 }) });
    const bad = await subscribe(failing.url, ['order.created']);
    await writeOrderLife(t.db.sql, newOrderId());
    const delivery = await waitFor(async () => {
      const [d] = (await t.api.get(`/api/v1/webhooks/${bad.id}/deliveries`)).body.items;
      return d?.attempts >= 1 ? d : undefined;
    }, 10_000, 'a failed attempt');
    expect(delivery).toMatchObject({ status: 'pending', responseStatus: 502, lastError: 'answered 502', nextAttemptAt: expect.any(String) });
    expect(delivery.responseExcerpt.startsWith('broken yyy')).toBe(true);
    expect(delivery.responseExcerpt.length).toBe(1024);
    await t.api.delete(`/api/v1/webhooks/${bad.id}`);
  });
});

describe('order per order and per product, several in flight', () => {
  test('40 orders and a product: each one\'s events arrive in order, while several deliveries are in flight at once', async () => {
    let open = 0;
    let mostOpen = 0;
    const jittery = receiver({
      respond: async () => {
        open++;
        mostOpen = Math.max(mostOpen, open);
        await Bun.sleep(Math.random() * 25); // the scenario: a receiver whose answers take varying time
        open--;
        return new Response(null, { status: 204 });
      },
    });
    const hook = await subscribe(jittery.url, [...orderTypes, 'inventory.changed']);
    const orders = Array.from({ length: 40 }, newOrderId);
    const product = '01900000-0000-7000-8000-0000000000cc';
    // Interleaved as concurrent transactions would commit them.
    for (let step = 0; step < 3; step++) {
      for (const id of orders) await writeOrderStep(t.db.sql, id, step);
      await writeRecord(t.db.sql, { v: 2, inventory: [inventoryRecord(product, 100 - step, 99 - step)] });
    }
    await waitFor(() => jittery.received.length >= orders.length * 3 + 3, 20_000, 'every delivery');
    for (const id of orders) expect(jittery.received.filter((r) => r.payload!.data.id === id).map((r) => r.payload!.type)).toEqual(orderTypes);
    expect(jittery.received.filter((r) => r.payload!.type === 'inventory.changed').map((r) => r.payload!.data.available)).toEqual([99, 98, 97]);
    expect(mostOpen).toBeGreaterThan(1);
    expect(mostOpen).toBeLessThanOrEqual(8);
    await t.api.delete(`/api/v1/webhooks/${hook.id}`);
  });
});

describe('redirects', () => {
  test('are not followed: a 3xx is a failed attempt, and the place it points at gets nothing', async () => {
    const elsewhere = receiver();
    const redirecting = receiver({ respond: () => new Response(null, { status: 307, headers: { location: elsewhere.url } }) });
    const hook = await subscribe(redirecting.url, ['order.created']);
    await writeOrderLife(t.db.sql, newOrderId());
    const delivery = await waitFor(async () => {
      const [d] = (await t.api.get(`/api/v1/webhooks/${hook.id}/deliveries`)).body.items;
      return d?.attempts >= 1 ? d : undefined;
    }, 10_000, 'the attempt');
    expect(delivery).toMatchObject({ status: 'pending', responseStatus: 307, lastError: 'answered 307' });
    expect(redirecting.received.length).toBeGreaterThanOrEqual(1);
    expect(elsewhere.received).toHaveLength(0);
    await t.api.delete(`/api/v1/webhooks/${hook.id}`);
  });
});

describe('isolation', () => {
  test('a subscription whose endpoint hangs does not hold up another one', async () => {
    // The scenario: an endpoint that answers only long after the delivery timeout (500 ms).
    const hanging = receiver({ respond: () => Bun.sleep(5_000).then(() => new Response(null, { status: 204 })) });
    const fast = receiver();
    const slowHook = await subscribe(hanging.url, orderTypes);
    const fastHook = await subscribe(fast.url, orderTypes);
    const orders = Array.from({ length: 15 }, newOrderId);
    const started = Date.now();
    for (const id of orders) await writeOrderLife(t.db.sql, id);
    await waitFor(() => fast.received.length >= 45, 10_000, 'the fast subscription');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(hanging.received.length).toBeLessThanOrEqual(8); // its own in-flight slots, timing out
    await t.api.delete(`/api/v1/webhooks/${slowHook.id}`);
    await t.api.delete(`/api/v1/webhooks/${fastHook.id}`);
  });
});
