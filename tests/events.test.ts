import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { collectEvents, streamOpened, type Received } from './support/events.ts';
import { createProduct, orderReaches, placeOrder, startTestService, tokens, type TestService } from './support/service.ts';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(() => t.close());

/** Opens the stream with the client token (as a browser would, with fetch) and collects events until `until` says stop. */
const collect = (until: (events: Received[]) => boolean, headers: Record<string, string> = {}, timeoutMs = 10_000) =>
  collectEvents(t.service.app, tokens.client, until, headers, timeoutMs);
const hub = () => t.service.services.events;

describe('GET /api/v1/events', () => {
  test('streams order status changes and inventory changes as they commit', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    let orderId = '';
    const open = hub().size;
    const streamed = collect((events) => events.some((e) => e.event === 'order.status' && e.data.orderId === orderId && e.data.status === 'processed'));
    await streamOpened(hub(), open); // the stream starts "now": place the order after it is open
    orderId = (await placeOrder(t.api, [{ productId: product.id, quantity: 2 }])).body.id;
    const events = await streamed;
    const mine = events.filter((e) => e.data.orderId === orderId);
    expect(mine.map((e) => [e.data.previous, e.data.status])).toEqual([
      [null, 'reserved'], // born reserved: stored with its stock held
      ['reserved', 'processed'],
    ]);
    // Each event carries the order as of its commit (the snapshot a webhook sends).
    expect(mine[0]!.data).toMatchObject({ id: orderId, customerId: 'customer-1', total: '20.00', items: [{ productId: product.id, quantity: 2, unitPrice: '10.00' }], payment: null });
    expect(mine[1]!.data).toMatchObject({ id: orderId, status: 'processed', payment: { status: 'succeeded', attempts: 1 } });
    expect(mine[1]!.data.version).toBeGreaterThan(mine[0]!.data.version as number);
    const stock = events.filter((e) => e.event === 'inventory.changed' && e.data.productId === product.id);
    expect(stock.at(-1)!.data).toMatchObject({ onHand: 3, reserved: 0, available: 3 });
    const ids = events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('Last-Event-ID resumes right after that event, without loss or repeats', async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    const orderIds: string[] = [];
    const open = hub().size;
    const first = collect((events) => events.filter((e) => e.data.status === 'processed' && orderIds.includes(String(e.data.orderId))).length >= 3);
    await streamOpened(hub(), open);
    for (let i = 0; i < 3; i++) orderIds.push((await placeOrder(t.api, [{ productId: product.id, quantity: 1 }])).body.id);
    const all = (await first).filter((e) => orderIds.includes(String(e.data.orderId)));
    expect(all).toHaveLength(6);
    const cut = 3;
    const resumed = await collect((events) => events.filter((e) => orderIds.includes(String(e.data.orderId))).length >= all.length - cut - 1, {
      'last-event-id': all[cut]!.id,
    });
    const after = resumed.filter((e) => orderIds.includes(String(e.data.orderId)));
    expect(after.map((e) => e.id)).toEqual(all.slice(cut + 1).map((e) => e.id));
  });

  test('needs a client token; a malformed Last-Event-ID is 422', async () => {
    expect((await t.api.get('/api/v1/events', 'anonymous')).status).toBe(401);
    const bad = await t.api.request('GET', '/api/v1/events', { as: 'client', headers: { 'last-event-id': 'garbage' } });
    expect(bad.status).toBe(422);
  });

  test('an event is not lost when a transaction that started earlier commits later', async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    // A slow writer: its outbox row gets a lower transaction id but becomes visible last.
    let inserted!: () => void;
    const insertedYet = new Promise<void>((resolve) => (inserted = resolve));
    let commit!: () => void;
    const committing = new Promise<void>((resolve) => (commit = resolve));
    const slow = t.db.sql.begin(async (tx) => {
      await tx`INSERT INTO events (changes) VALUES (${JSON.stringify([{ type: 'test.marker', name: 'slow' }])}::jsonb)`;
      inserted();
      await committing;
    });
    await insertedYet;
    const open = hub().size;
    const streamed = collect((events) => events.some((e) => e.event === 'test.marker'));
    await streamOpened(hub(), open);
    await t.api.post(`/api/v1/products/${product.id}/inventory/adjustments`, { delta: 1, reason: 'fast writer' });
    // The scenario, not synchronisation: the slow writer stays open across two polls of the stream (EventHub pollMs 250).
    await Bun.sleep(2 * 250);
    commit();
    await slow;
    const events = await streamed;
    expect(events.filter((e) => e.event === 'test.marker')).toHaveLength(1);
  });
});
