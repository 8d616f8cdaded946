import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { DEFAULT_LOCATION_ID } from '../src/db/schema/locations.ts';
import { readEvents } from '../src/modules/events/events.queries.ts';
import { expandRow } from '../src/modules/events/records.ts';
import { webhookEvents } from '../src/modules/webhooks/event-map.ts';
import { createKey } from './support/credentials.ts';
import { collectEvents, streamOpened } from './support/events.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { countsAt, createLocation, stock } from './support/locations.ts';
import { createProduct, placeOrder, quietJobs, startTestService, tokens, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/** Transfers between locations (issue 20): out of the source now, incoming at the destination, received in parts, or cancelled. */
let t: TestService;

beforeAll(async () => {
  t = await startTestService({ ...quietJobs, ORDER_MAX_ATTEMPTS: '2' });
});
afterAll(() => t.close());

/** What a refused request must leave alone. */
const snapshot = async () => ({
  levels: await t.db.sql`SELECT * FROM location_levels ORDER BY product_id, location_id`,
  sums: await t.db.sql`SELECT * FROM inventory_levels ORDER BY product_id`,
  movements: await t.db.sql`SELECT count(*)::int AS n FROM stock_movements`,
  transfers: await t.db.sql`SELECT * FROM transfers ORDER BY id`,
});

async function twoPlaces() {
  const a = await createLocation(t.api, { priority: 10 });
  const b = await createLocation(t.api, { priority: 20 });
  return { a, b };
}

const transfer = (from: string, to: string, items: { productId: string; quantity: number }[], as = 'admin', headers?: Record<string, string>) =>
  t.api.post('/api/v1/transfers', { fromLocationId: from, toLocationId: to, items }, as, headers);

describe('create', () => {
  test("the source's on hand goes down and the destination's incoming up, all at once; the movements name the transfer", async () => {
    const { a, b } = await twoPlaces();
    const [p, q] = [await createProduct(t.api), await createProduct(t.api)];
    await stock(t.api, p.id, a.id, 10);
    await stock(t.api, q.id, a.id, 4);
    const created = await transfer(a.id, b.id, [{ productId: p.id, quantity: 6 }, { productId: q.id, quantity: 4 }]);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/api/v1/transfers/${created.body.id}`);
    expect(created.body).toEqual({
      id: expect.any(String),
      fromLocationId: a.id,
      toLocationId: b.id,
      status: 'in_transit',
      items: [
        { productId: p.id, quantity: 6, received: 0 },
        { productId: q.id, quantity: 4, received: 0 },
      ],
      createdAt: expect.any(String),
      updatedAt: created.body.createdAt,
    });
    expect(await countsAt(t.api, p.id, a.id)).toEqual({ onHand: 4, reserved: 0, incoming: 0, awaitingShipment: 0 });
    expect(await countsAt(t.api, p.id, b.id)).toEqual({ onHand: 0, reserved: 0, incoming: 6, awaitingShipment: 0 });
    expect(await countsAt(t.api, q.id, a.id)).toEqual({ onHand: 0, reserved: 0, incoming: 0, awaitingShipment: 0 });
    const inventory = (await t.api.get(`/api/v1/products/${p.id}/inventory`)).body;
    expect(inventory).toMatchObject({ onHand: 4, incoming: 6, available: 4 });
    const [movement] = (await t.api.get(`/api/v1/products/${p.id}/inventory/movements?limit=1`)).body.items;
    expect(movement).toMatchObject({ reason: 'transfer-out', delta: -6, locationId: a.id, transferId: created.body.id, onHandAfter: 4 });
    expect((await t.api.get(`/api/v1/transfers/${created.body.id}`, (await createKey(t.api, 'read-only')).key)).body).toEqual(created.body);
    await expectStockConsistent(t.db.sql);
  });

  test("more than the source's available is 409 naming each short item, and nothing moves, not even the items that would fit", async () => {
    const { a, b } = await twoPlaces();
    const [fits, short] = [await createProduct(t.api), await createProduct(t.api)];
    await stock(t.api, fits.id, a.id, 5);
    await stock(t.api, short.id, a.id, 3);
    // Units an order took are not available: 2 of the 3 are sold (awaiting shipment).
    expect((await placeOrder(t.api, [{ productId: short.id, quantity: 2 }])).body.status).toBe('reserved');
    await waitFor(async () => (await countsAt(t.api, short.id, a.id)).awaitingShipment === 2, 10_000, 'the order sold');
    const before = await snapshot();
    const reply = await transfer(a.id, b.id, [{ productId: fits.id, quantity: 5 }, { productId: short.id, quantity: 2 }]);
    expect(reply.status).toBe(409);
    expect(reply.body.shortItems).toEqual([{ productId: short.id, quantity: 2, available: 1 }]);
    expect(reply.body.detail).toContain(short.id);
    expect(reply.body.detail).not.toContain(fits.id);
    expect(await snapshot()).toEqual(before);
  });

  test('what can never be valid is 422 naming the field, and changes nothing', async () => {
    const { a, b } = await twoPlaces();
    const inactive = await createLocation(t.api, { active: false });
    const product = await createProduct(t.api);
    await stock(t.api, product.id, a.id, 5);
    const line = [{ productId: product.id, quantity: 1 }];
    const missing = '01900000-0000-7000-8000-0000000000ff';
    const before = await snapshot();
    const cases: [Promise<{ status: number; body: any }>, string, string][] = [
      [transfer(a.id, a.id, line), 'body.toLocationId', 'is the source'],
      [transfer(missing, b.id, line), 'body.fromLocationId', 'is not a location'],
      [transfer(a.id, missing, line), 'body.toLocationId', 'is not a location'],
      [transfer(a.id, inactive.id, line), 'body.toLocationId', 'is an inactive location'],
      [transfer(a.id, b.id, [...line, { productId: product.id, quantity: 2 }]), 'body.items[1].productId', 'repeats items[0]'],
      [transfer(a.id, b.id, [{ productId: missing, quantity: 1 }]), 'body.items[0].productId', 'is not a product'],
      [transfer(a.id, b.id, [{ productId: product.id, quantity: 0 }]), 'body.items.0.quantity', ''],
    ];
    for (const [reply, path, message] of cases) {
      const { status, body } = await reply;
      expect(status).toBe(422);
      const error = body.errors.find((e: { path: string }) => e.path === path);
      expect(error, `${path} in ${JSON.stringify(body.errors)}`).toBeDefined();
      expect(error.message).toContain(message);
    }
    expect(await snapshot()).toEqual(before);
  });

  test('Idempotency-Key: the same key and body answer the transfer as created; another body 422; another credential is another key', async () => {
    const { a, b } = await twoPlaces();
    const product = await createProduct(t.api);
    await stock(t.api, product.id, a.id, 10);
    const line = [{ productId: product.id, quantity: 2 }];
    const first = await transfer(a.id, b.id, line, 'admin', { 'idempotency-key': 'move-1' });
    expect(first.status).toBe(201);
    expect((await t.api.post(`/api/v1/transfers/${first.body.id}/receive`, { items: line })).body.status).toBe('received');
    const again = await transfer(a.id, b.id, line, 'admin', { 'idempotency-key': 'move-1' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const other = await transfer(a.id, b.id, [{ productId: product.id, quantity: 3 }], 'admin', { 'idempotency-key': 'move-1' });
    expect(other.status).toBe(422);
    expect(other.body.errors).toEqual([{ path: 'headers.idempotency-key', message: 'was already used for another request' }]);
    const warehouse = (await createKey(t.api, 'warehouse')).key;
    const theirs = await transfer(a.id, b.id, line, warehouse, { 'idempotency-key': 'move-1' });
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(first.body.id);
    expect(await countsAt(t.api, product.id, a.id)).toMatchObject({ onHand: 6 });
    expect((await t.db.sql`SELECT count(*)::int AS n FROM transfers WHERE idempotency_key = 'move-1'`)[0]!.n).toBe(2);
    await expectStockConsistent(t.db.sql);
  });
});

describe('receive', () => {
  test('in parts: incoming becomes on hand as it arrives; received once everything arrived; never more than is in transit', async () => {
    const { a, b } = await twoPlaces();
    const [p, q] = [await createProduct(t.api), await createProduct(t.api)];
    await stock(t.api, p.id, a.id, 10);
    await stock(t.api, q.id, a.id, 2);
    const moving = (await transfer(a.id, b.id, [{ productId: p.id, quantity: 10 }, { productId: q.id, quantity: 2 }])).body;
    const receive = (items: { productId: string; quantity: number }[]) => t.api.post(`/api/v1/transfers/${moving.id}/receive`, { items });

    const part = await receive([{ productId: p.id, quantity: 3 }]);
    expect(part.status).toBe(200);
    expect(part.body).toMatchObject({ status: 'in_transit', items: [{ productId: p.id, quantity: 10, received: 3 }, { productId: q.id, quantity: 2, received: 0 }] });
    expect(await countsAt(t.api, p.id, b.id)).toEqual({ onHand: 3, reserved: 0, incoming: 7, awaitingShipment: 0 });
    const [movement] = (await t.api.get(`/api/v1/products/${p.id}/inventory/movements?limit=1`)).body.items;
    expect(movement).toMatchObject({ reason: 'transfer-in', delta: 3, locationId: b.id, transferId: moving.id, onHandAfter: 3 });

    // More than is still in transit: 409 naming it; a product not in the transfer, or twice: 422. Nothing changes.
    const stranger = await createProduct(t.api);
    const before = await snapshot();
    const over = await receive([{ productId: q.id, quantity: 1 }, { productId: p.id, quantity: 8 }]);
    expect(over.status).toBe(409);
    expect(over.body.overItems).toEqual([{ productId: p.id, quantity: 8, inTransit: 7 }]);
    const notIn = await receive([{ productId: stranger.id, quantity: 1 }]);
    expect(notIn.status).toBe(422);
    expect(notIn.body.errors).toEqual([{ path: 'body.items[0].productId', message: 'is not a product of this transfer' }]);
    expect((await receive([{ productId: p.id, quantity: 1 }, { productId: p.id, quantity: 1 }])).status).toBe(422);
    expect(await snapshot()).toEqual(before);

    const rest = await receive([{ productId: p.id, quantity: 7 }, { productId: q.id, quantity: 2 }]);
    expect(rest.body.status).toBe('received');
    expect(await countsAt(t.api, p.id, b.id)).toEqual({ onHand: 10, reserved: 0, incoming: 0, awaitingShipment: 0 });
    expect(await countsAt(t.api, q.id, b.id)).toEqual({ onHand: 2, reserved: 0, incoming: 0, awaitingShipment: 0 });
    const done = await receive([{ productId: p.id, quantity: 1 }]);
    expect(done.status).toBe(409);
    expect((await t.api.post(`/api/v1/transfers/${moving.id}/cancel`)).status).toBe(409);
    expect((await t.api.post('/api/v1/transfers/01900000-0000-7000-8000-0000000000ff/receive', { items: [{ productId: p.id, quantity: 1 }] })).status).toBe(404);
    await expectStockConsistent(t.db.sql);
  });

  test('incoming is never sellable: an order finds only what is on hand', async () => {
    const { a, b } = await twoPlaces();
    const product = await createProduct(t.api);
    await stock(t.api, product.id, a.id, 5);
    const moving = (await transfer(a.id, b.id, [{ productId: product.id, quantity: 5 }])).body;
    const order = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: 'wants-incoming' });
    expect(order.body.status).toBe('pending');
    expect(order.body.lastError).toContain('0 available');
    await t.api.post(`/api/v1/transfers/${moving.id}/receive`, { items: [{ productId: product.id, quantity: 5 }] });
    const next = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: 'after-receipt' });
    expect(next.body.status).toBe('reserved');
    expect(next.body.items[0].allocations).toEqual([{ locationId: b.id, quantity: 1 }]);
  });

  test('transfer.received reaches the event stream and the webhooks with the Transfer', async () => {
    const { a, b } = await twoPlaces();
    const product = await createProduct(t.api);
    await stock(t.api, product.id, a.id, 4);
    const moving = (await transfer(a.id, b.id, [{ productId: product.id, quantity: 4 }])).body;
    const open = t.service.services.events.size;
    const stream = collectEvents(t.service.app, tokens.admin, (events) => events.some((e) => e.event === 'transfer.received'));
    await streamOpened(t.service.services.events, open);
    expect((await t.api.post(`/api/v1/transfers/${moving.id}/receive`, { items: [{ productId: product.id, quantity: 1 }] })).status).toBe(200);
    const events = await stream;
    const received = events.find((e) => e.event === 'transfer.received')!;
    expect(received.data).toMatchObject({ id: moving.id, status: 'in_transit', items: [{ productId: product.id, quantity: 4, received: 1 }] });
    const inventory = events.find((e) => e.event === 'inventory.changed' && e.data.productId === product.id)!;
    expect(inventory.data.locationIds).toEqual([b.id]);

    // The same outbox row, as webhooks map it: `transfer.received`, the Transfer, in order per transfer.
    const rows = await readEvents(t.db.sql, { tx: '0', id: '0' }, 10_000);
    const hooks = rows.flatMap((row) => expandRow(row)).flatMap((event) => webhookEvents(event, new Map()));
    const hook = hooks.find((e) => e.type === 'transfer.received' && e.data.id === moving.id)!;
    expect(hook.key).toBe(`transfer:${moving.id}`);
    const { at: _at, ...transferData } = received.data;
    expect(hook.data).toEqual(transferData);
    expect(hook.data).toEqual((await t.api.get(`/api/v1/transfers/${moving.id}`)).body);
  });
});

describe('cancel', () => {
  test('what is still in transit goes back to the source; what arrived stays; repeating it changes nothing', async () => {
    const { a, b } = await twoPlaces();
    const product = await createProduct(t.api);
    await stock(t.api, product.id, a.id, 9);
    const moving = (await transfer(a.id, b.id, [{ productId: product.id, quantity: 9 }])).body;
    await t.api.post(`/api/v1/transfers/${moving.id}/receive`, { items: [{ productId: product.id, quantity: 4 }] });
    const cancelled = await t.api.post(`/api/v1/transfers/${moving.id}/cancel`, undefined, (await createKey(t.api, 'warehouse')).key);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', items: [{ productId: product.id, quantity: 9, received: 4 }] });
    expect(await countsAt(t.api, product.id, a.id)).toEqual({ onHand: 5, reserved: 0, incoming: 0, awaitingShipment: 0 });
    expect(await countsAt(t.api, product.id, b.id)).toEqual({ onHand: 4, reserved: 0, incoming: 0, awaitingShipment: 0 });
    const [movement] = (await t.api.get(`/api/v1/products/${product.id}/inventory/movements?limit=1`)).body.items;
    expect(movement).toMatchObject({ reason: 'transfer-cancel', delta: 5, locationId: a.id, transferId: moving.id });
    const before = await snapshot();
    const again = await t.api.post(`/api/v1/transfers/${moving.id}/cancel`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(cancelled.body);
    expect((await t.api.post(`/api/v1/transfers/${moving.id}/receive`, { items: [{ productId: product.id, quantity: 1 }] })).status).toBe(409);
    expect(await snapshot()).toEqual(before);
    await expectStockConsistent(t.db.sql);
  });

  test('the list pages newest first and filters by status; who may: warehouse and admin change, read-only reads', async () => {
    const { a, b } = await twoPlaces();
    const product = await createProduct(t.api);
    await stock(t.api, product.id, a.id, 3);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await transfer(a.id, b.id, [{ productId: product.id, quantity: 1 }])).body.id);
    await t.api.post(`/api/v1/transfers/${ids[0]}/cancel`);
    const readOnly = (await createKey(t.api, 'read-only')).key;
    const first = await t.api.get('/api/v1/transfers?limit=2&status=in_transit', readOnly);
    expect(first.body.items.map((x: { id: string }) => x.id)).toEqual([ids[2], ids[1]]);
    const cancelled = await t.api.get('/api/v1/transfers?status=cancelled', readOnly);
    expect(cancelled.body.items.map((x: { id: string }) => x.id)).toContain(ids[0]);
    expect((await transfer(a.id, b.id, [{ productId: product.id, quantity: 1 }], readOnly)).status).toBe(403);
    expect((await t.api.get('/api/v1/transfers', 'client')).status).toBe(403);
  });
});

describe('under concurrency', () => {
  test('transfers, receipts and orders on one product at once never oversell, and every count and movement agrees', async () => {
    const { a, b } = await twoPlaces();
    const product = await createProduct(t.api);
    await stock(t.api, product.id, a.id, 30);
    const orders = Array.from({ length: 40 }, (_, i) => placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: `race-${i}` }));
    const moves = Array.from({ length: 12 }, async () => {
      const reply = await transfer(a.id, b.id, [{ productId: product.id, quantity: 3 }]);
      if (reply.status !== 201) return reply.status;
      const receipt = await t.api.post(`/api/v1/transfers/${reply.body.id}/receive`, { items: [{ productId: product.id, quantity: 2 }] });
      const cancel = await t.api.post(`/api/v1/transfers/${reply.body.id}/cancel`);
      return receipt.status === 200 && cancel.status === 200 ? 201 : -1;
    });
    const answered = await Promise.all(orders);
    expect(answered.every((r) => r.status === 202)).toBe(true);
    // A transfer finds the source short (409) or moves its units; nothing else.
    expect((await Promise.all(moves)).every((status) => status === 201 || status === 409)).toBe(true);
    await waitFor(
      async () => (await t.db.sql`SELECT count(*)::int AS n FROM orders WHERE status IN ('pending', 'reserved') AND customer_id LIKE 'race-%'`)[0]!.n === 0,
      20_000,
      'every order final',
    );
    const [sold] = await t.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orders WHERE status = 'processed' AND customer_id LIKE 'race-%'`;
    const places = await Promise.all([a.id, b.id, DEFAULT_LOCATION_ID].map((id) => countsAt(t.api, product.id, id)));
    for (const place of places) {
      expect(place.onHand).toBeGreaterThanOrEqual(0);
      expect(place.reserved).toBe(0);
      expect(place.incoming).toBe(0);
    }
    // Units are only ever moved or sold: what is left plus what was sold is what there was.
    expect(places.reduce((sum, p) => sum + p.onHand + p.awaitingShipment, 0)).toBe(30);
    expect(sold!.n).toBe(places.reduce((sum, p) => sum + p.awaitingShipment, 0));
    expect(sold!.n).toBeLessThanOrEqual(30);
    await expectStockConsistent(t.db.sql);
  });
});
