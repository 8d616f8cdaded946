import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { DEFAULT_LOCATION_ID } from '../src/db/schema/locations.ts';
import { levelsOf, newLocation, orderState, stockAt, webhookEventsOf } from './support/after-sale.ts';
import { createKey } from './support/credentials.ts';
import { collectEvents, streamOpened } from './support/events.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { createProduct, orderReaches, placeOrder, startTestService, tokens, type TestService } from './support/service.ts';

/**
 * Shipping a paid order in parcels (`POST /orders/:id/fulfilments`) and all that is left at once
 * (`POST /orders/:id/ship`): each parcel leaves one location, awaiting shipment falls there, the
 * last unit makes the order `shipped`, and a refused parcel changes nothing.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(() => t.close());

const fulfil = (orderId: string, body: unknown, as = 'admin', headers?: Record<string, string>) => t.api.post(`/api/v1/orders/${orderId}/fulfilments`, body, as, headers);

async function paidOrder(items: { productId: string; quantity: number }[]) {
  const placed = await placeOrder(t.api, items);
  expect(placed.status).toBe(202);
  return orderReaches(t.api, placed.body.id, ['processed']);
}

/** A product with 3 at the default location and 4 at a second one, and a paid order for 6: 4 there, 2 at the default. */
async function splitOrder(price = '7.00') {
  const north = await newLocation(t.db.sql, 'north');
  const product = await createProduct(t.api, { initialStock: 3, price });
  await stockAt(t.api, product.id, north, 4);
  const order = await paidOrder([{ productId: product.id, quantity: 6 }]);
  expect(order.items[0].allocations).toEqual([
    { locationId: north, quantity: 4 },
    { locationId: DEFAULT_LOCATION_ID, quantity: 2 },
  ]);
  return { north, product, order };
}

describe('fulfilments', () => {
  test('an order split over two locations ships in two parcels: awaiting shipment falls where each left, then the order is shipped', async () => {
    const { north, product, order } = await splitOrder();
    const productId = product.id;
    expect(await levelsOf(t.api, productId)).toEqual({
      [DEFAULT_LOCATION_ID]: { onHand: 1, reserved: 0, awaitingShipment: 2 },
      [north]: { onHand: 0, reserved: 0, awaitingShipment: 4 },
    });

    const first = await fulfil(order.id, { locationId: north, items: [{ productId, quantity: 4 }], trackingNumber: 'TRK-NORTH-1' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ orderId: order.id, locationId: north, items: [{ productId, quantity: 4 }], trackingNumber: 'TRK-NORTH-1' });
    const between = (await t.api.get(`/api/v1/orders/${order.id}`)).body;
    expect(between).toMatchObject({ status: 'processed', items: [{ quantity: 6, shipped: 4, returned: 0 }], fulfilments: [first.body] });
    expect(await levelsOf(t.api, productId)).toEqual({
      [DEFAULT_LOCATION_ID]: { onHand: 1, reserved: 0, awaitingShipment: 2 },
      [north]: { onHand: 0, reserved: 0, awaitingShipment: 0 },
    });
    await expectStockConsistent(t.db.sql);

    // Without a location: the one place these units are still unshipped.
    const second = await fulfil(order.id, { items: [{ productId, quantity: 2 }] });
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ locationId: DEFAULT_LOCATION_ID, trackingNumber: null });
    const shipped = (await t.api.get(`/api/v1/orders/${order.id}`)).body;
    expect(shipped).toMatchObject({ status: 'shipped', items: [{ shipped: 6 }], fulfilments: [first.body, second.body] });
    expect(await levelsOf(t.api, productId)).toEqual({
      [DEFAULT_LOCATION_ID]: { onHand: 1, reserved: 0, awaitingShipment: 0 },
      [north]: { onHand: 0, reserved: 0, awaitingShipment: 0 },
    });

    const events = (await webhookEventsOf(t.db.sql, order.id)).filter((e) => e.type !== 'order.created' && e.type !== 'order.reserved');
    expect(events.map((e) => [e.type, (e.data.fulfilment as { id: string } | undefined)?.id, e.data.status])).toEqual([
      ['order.processed', undefined, 'processed'],
      ['order.fulfilment.created', first.body.id, 'processed'],
      ['order.fulfilment.created', second.body.id, 'processed'],
      ['order.shipped', undefined, 'shipped'],
    ]);
    // Each a snapshot: the first parcel's event shows one parcel and 4 units shipped.
    expect(events[1]!.data).toMatchObject({ items: [{ shipped: 4 }], fulfilments: [first.body] });
    const logs = (await t.api.get(`/api/v1/orders/${order.id}/logs`)).body.items.map((l: { message: string }) => l.message);
    expect(logs.filter((m: string) => m.startsWith('fulfilment '))).toHaveLength(2);
    await expectStockConsistent(t.db.sql);
  });

  test('refused parcels change nothing: 422 for what can never be valid, 409 for what the state forbids', async () => {
    const { north, product, order } = await splitOrder();
    const productId = product.id;
    const other = await createProduct(t.api, { initialStock: 5 });
    const elsewhere = await newLocation(t.db.sql, 'elsewhere');
    const before = { order: await orderState(t.db.sql, order.id), levels: await levelsOf(t.api, productId) };
    const cases: [unknown, number, string][] = [
      [{ items: [{ productId, quantity: 1 }] }, 422, 'body.locationId'], // unshipped at two places: name one
      [{ locationId: north, items: [{ productId: other.id, quantity: 1 }] }, 422, 'body.items[0].productId'], // not in the order
      [{ locationId: north, items: [{ productId, quantity: 1 }, { productId, quantity: 1 }] }, 422, 'body.items[1].productId'],
      [{ locationId: elsewhere, items: [{ productId, quantity: 1 }] }, 422, 'body.locationId'], // the order has nothing there
      [{ locationId: crypto.randomUUID(), items: [{ productId, quantity: 1 }] }, 422, 'body.locationId'], // no such location
      [{ locationId: north, items: [{ productId, quantity: 5 }] }, 409, ''], // 4 are there
      [{ locationId: north, items: [{ productId, quantity: 0 }] }, 422, 'body.items.0.quantity'],
      [{ locationId: north, items: [] }, 422, 'body.items'],
    ];
    for (const [body, status, path] of cases) {
      const reply = await fulfil(order.id, body);
      expect({ body, status: reply.status }).toEqual({ body, status });
      expect(reply.headers.get('content-type')).toContain('application/problem+json');
      if (path) expect(reply.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect((await fulfil(crypto.randomUUID(), { items: [{ productId, quantity: 1 }] })).status).toBe(404);
    // Not paid yet: nothing to ship.
    const empty = await createProduct(t.api, { initialStock: 0 });
    const waiting = await placeOrder(t.api, [{ productId: empty.id, quantity: 1 }]);
    expect((await fulfil(waiting.body.id, { items: [{ productId: empty.id, quantity: 1 }] })).status).toBe(409);
    expect({ order: await orderState(t.db.sql, order.id), levels: await levelsOf(t.api, productId) }).toEqual(before);

    // Shipped in full: nothing more leaves, and the order can no longer be cancelled either.
    expect((await t.api.post(`/api/v1/orders/${order.id}/ship`)).body.status).toBe('shipped');
    expect((await fulfil(order.id, { locationId: north, items: [{ productId, quantity: 1 }] })).status).toBe(409);
    await expectStockConsistent(t.db.sql);
  });

  test('POST /ship sends what is left, one parcel per location, each with its event, then order.shipped', async () => {
    const { north, product, order } = await splitOrder();
    const first = await fulfil(order.id, { locationId: north, items: [{ productId: product.id, quantity: 1 }] });
    expect(first.status).toBe(201);
    const shipped = await t.api.post(`/api/v1/orders/${order.id}/ship`);
    expect(shipped.status).toBe(200);
    expect(shipped.body.status).toBe('shipped');
    const parcels = shipped.body.fulfilments.slice(1).map((f: { locationId: string; items: unknown; trackingNumber: unknown }) => [f.locationId, f.items, f.trackingNumber]);
    expect(parcels).toEqual([
      [north, [{ productId: product.id, quantity: 3 }], null],
      [DEFAULT_LOCATION_ID, [{ productId: product.id, quantity: 2 }], null],
    ]);
    expect(Object.values(await levelsOf(t.api, product.id)).map((l) => l.awaitingShipment)).toEqual([0, 0]);
    const types = (await webhookEventsOf(t.db.sql, order.id)).map((e) => e.type);
    expect(types.slice(-4)).toEqual(['order.fulfilment.created', 'order.fulfilment.created', 'order.fulfilment.created', 'order.shipped']);
    await expectStockConsistent(t.db.sql);
  });

  test('a processed order with shipped units cannot be cancelled: what came back is a return', async () => {
    const { north, product, order } = await splitOrder();
    expect((await fulfil(order.id, { locationId: north, items: [{ productId: product.id, quantity: 1 }] })).status).toBe(201);
    const before = { order: await orderState(t.db.sql, order.id), levels: await levelsOf(t.api, product.id) };
    const cancel = await t.api.post(`/api/v1/orders/${order.id}/cancel`, undefined, 'client');
    expect(cancel.status).toBe(409);
    expect(cancel.body.detail).toContain('return');
    expect({ order: await orderState(t.db.sql, order.id), levels: await levelsOf(t.api, product.id) }).toEqual(before);
  });

  test('the event stream carries order.fulfilment.created with the parcel beside the order', async () => {
    const { north, product, order } = await splitOrder();
    const opened = t.service.services.events.size;
    const stream = collectEvents(t.service.app, tokens.admin, (events) => events.some((e) => e.event === 'order.fulfilment.created'));
    await streamOpened(t.service.services.events, opened);
    const parcel = (await fulfil(order.id, { locationId: north, items: [{ productId: product.id, quantity: 2 }] })).body;
    const event = (await stream).find((e) => e.event === 'order.fulfilment.created')!;
    expect(event.data).toMatchObject({ id: order.id, orderId: order.id, status: 'processed', fulfilment: parcel, items: [{ shipped: 2 }] });
  });

  test('an Idempotency-Key ships one parcel: the same request gets it again, another request with the key is 422', async () => {
    const { north, product, order } = await splitOrder();
    const body = { locationId: north, items: [{ productId: product.id, quantity: 1 }] };
    const key = { 'idempotency-key': `parcel-${order.id}` };
    const replies = await Promise.all(Array.from({ length: 5 }, () => fulfil(order.id, body, 'admin', key)));
    const made = replies.filter((r) => r.status === 201);
    // Concurrent ones either wait for the first (409: still in flight) or get it again.
    expect(replies.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    expect(new Set(made.map((r) => r.body.id)).size).toBe(1);
    const again = await fulfil(order.id, body, 'admin', key);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(made[0]!.body);
    expect((await fulfil(order.id, { ...body, trackingNumber: 'other' }, 'admin', key)).status).toBe(422);
    expect((await orderState(t.db.sql, order.id))!.fulfilments).toBe(1);
    expect((await levelsOf(t.api, product.id))[north]!.awaitingShipment).toBe(3);
  });

  test('a warehouse key reads and ships an order; a storefront key may not ship', async () => {
    const { north, product, order } = await splitOrder();
    const warehouse = (await createKey(t.api, 'warehouse')).key;
    expect((await t.api.get(`/api/v1/orders/${order.id}`, warehouse)).status).toBe(200);
    expect((await fulfil(order.id, { locationId: north, items: [{ productId: product.id, quantity: 1 }] }, 'client')).status).toBe(403);
    expect((await fulfil(order.id, { locationId: north, items: [{ productId: product.id, quantity: 1 }] }, warehouse)).status).toBe(201);
  });
});

describe('fulfilments under concurrency', () => {
  test('80 parcels of one unit race for 4 orders of 10 on one product while new orders come in: exactly 40 leave, every order ships, the counts hold', async () => {
    const product = await createProduct(t.api, { initialStock: 60 });
    const orders = await Promise.all(Array.from({ length: 4 }, () => paidOrder([{ productId: product.id, quantity: 10 }])));
    const parcels = Array.from({ length: 80 }, (_, i) => fulfil(orders[i % 4]!.id, { items: [{ productId: product.id, quantity: 1 }] }));
    const newcomers = Array.from({ length: 20 }, () => placeOrder(t.api, [{ productId: product.id, quantity: 1 }]));
    const replies = await Promise.all(parcels);
    expect(replies.filter((r) => r.status === 201)).toHaveLength(40);
    expect(replies.filter((r) => r.status === 409)).toHaveLength(40);
    for (const placed of await Promise.all(newcomers)) await orderReaches(t.api, placed.body.id, ['processed']);
    for (const order of orders) expect((await t.api.get(`/api/v1/orders/${order.id}`)).body).toMatchObject({ status: 'shipped', items: [{ shipped: 10 }] });
    expect((await t.api.get(`/api/v1/products/${product.id}/inventory`)).body).toMatchObject({ onHand: 0, reserved: 0, awaitingShipment: 20 });
    await expectStockConsistent(t.db.sql);
  }, 30_000);
});
