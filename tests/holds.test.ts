import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { DEFAULT_LOCATION_ID } from '../src/db/schema/locations.ts';
import { createKey, customerSecret, customerToken } from './support/credentials.ts';
import { fingerprint } from './support/fingerprint.ts';
import { addLocation, expireIn, inventory, placeHold, stockAt } from './support/holds.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { createProduct, orderReaches, quietJobs, startTestService, type TestService } from './support/service.ts';

/**
 * Holds over HTTP, one at a time: what a hold takes, what it answers, what it refuses. No periodic
 * work runs (no expiry sweep either), so a refused request can be shown to have written nothing.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ ...quietJobs, CUSTOMER_JWT_SECRET: customerSecret }, { background: false });
});
afterAll(async () => {
  await expectStockConsistent(t.db.sql);
  await t.close();
});

const hold = async (id: string, as = 'client') => (await t.api.get(`/api/v1/holds/${id}`, as)).body;
const unchanged = async (request: () => Promise<{ status: number }>, status: number) => {
  const before = await fingerprint(t.db.sql);
  expect((await request()).status).toBe(status);
  expect(await fingerprint(t.db.sql)).toEqual(before);
};

describe('making a hold', () => {
  test('201: the stock is held at once (reserved and held), the hold reads active until its expiry', async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    const reply = await placeHold(t.api, [{ productId: product.id, quantity: 3 }], { customerId: 'alice', ttlSeconds: 120 });
    expect(reply.status).toBe(201);
    expect(reply.headers.get('location')).toBe(`/api/v1/holds/${reply.body.id}`);
    expect(reply.body).toMatchObject({
      customerId: 'alice',
      status: 'active',
      orderId: null,
      items: [{ productId: product.id, quantity: 3, allocations: [{ locationId: DEFAULT_LOCATION_ID, quantity: 3 }] }],
    });
    expect(Date.parse(reply.body.expiresAt) - Date.parse(reply.body.createdAt)).toBe(120_000);
    expect(await inventory(t.api, product.id)).toMatchObject({ onHand: 10, reserved: 3, held: 3, available: 7 });
    expect(await hold(reply.body.id)).toEqual(reply.body);
    expect(await hold(reply.body.id, (await createKey(t.api, 'read-only')).key)).toEqual(reply.body);
  });

  test('allocated like an order: 10 at A (priority 10), 15 at B (priority 20), a hold of 20 takes B 15 + A 5; locationIds limit it', async () => {
    const a = await addLocation(t.db.sql, `A-${Bun.randomUUIDv7().slice(-6)}`, 10);
    const b = await addLocation(t.db.sql, `B-${Bun.randomUUIDv7().slice(-6)}`, 20);
    const product = await createProduct(t.api);
    await stockAt(t.api, product.id, 10, a);
    await stockAt(t.api, product.id, 15, b);
    const split = await placeHold(t.api, [{ productId: product.id, quantity: 20 }]);
    expect(split.status).toBe(201);
    expect(split.body.items[0].allocations).toEqual([
      { locationId: b, quantity: 15 },
      { locationId: a, quantity: 5 },
    ]);
    const level = await inventory(t.api, product.id);
    expect(level.locations.find((l: { locationId: string }) => l.locationId === a)).toMatchObject({ onHand: 10, reserved: 5, held: 5 });
    expect(level.locations.find((l: { locationId: string }) => l.locationId === b)).toMatchObject({ onHand: 15, reserved: 15, held: 15 });
    // Only A may give the next one's units: 5 are left there.
    expect((await placeHold(t.api, [{ productId: product.id, quantity: 5 }], { locationIds: [a] })).body.items[0].allocations).toEqual([{ locationId: a, quantity: 5 }]);
    expect((await placeHold(t.api, [{ productId: product.id, quantity: 1 }], { locationIds: [a] })).status).toBe(409);
    await unchanged(() => placeHold(t.api, [{ productId: product.id, quantity: 1 }], { locationIds: [DEFAULT_LOCATION_ID, Bun.randomUUIDv7()] }), 422);
  });

  test('409 names every short line, and holds nothing (not even the lines that had enough)', async () => {
    const plenty = await createProduct(t.api, { initialStock: 10 });
    const few = await createProduct(t.api, { initialStock: 2 });
    const none = await createProduct(t.api, { initialStock: 0 });
    const lines = [
      { productId: plenty.id, quantity: 5 },
      { productId: few.id, quantity: 3 },
      { productId: none.id, quantity: 1 },
    ];
    const before = await fingerprint(t.db.sql);
    const reply = await placeHold(t.api, lines);
    expect(reply.status).toBe(409);
    expect(reply.headers.get('content-type')).toContain('application/problem+json');
    expect(reply.body.items).toEqual([
      { productId: few.id, quantity: 3, available: 2 },
      { productId: none.id, quantity: 1, available: 0 },
    ]);
    expect(await fingerprint(t.db.sql)).toEqual(before);
  });

  test('bad input is 422 and changes nothing: ttl outside 30..3600, no items, too many, a product twice, unknown or archived products, unknown or inactive locations', async () => {
    const product = await createProduct(t.api, { initialStock: 100 });
    const archived = await createProduct(t.api, { initialStock: 5 });
    await t.db.sql`UPDATE products SET archived_at = now() WHERE id = ${archived.id}`;
    const inactive = await addLocation(t.db.sql, `OFF-${Bun.randomUUIDv7().slice(-6)}`, 5);
    await t.db.sql`UPDATE locations SET active = false WHERE id = ${inactive}`;
    const line = { productId: product.id, quantity: 1 };
    const many = Array.from({ length: 51 }, () => ({ productId: Bun.randomUUIDv7(), quantity: 1 }));
    const bodies: unknown[] = [
      { items: [line], ttlSeconds: 29 },
      { items: [line], ttlSeconds: 3601 },
      { items: [line], ttlSeconds: 60.5 },
      { items: [] },
      { items: many },
      { items: [{ productId: product.id, quantity: 0 }] },
      { items: [line, { productId: product.id, quantity: 2 }] },
      { items: [{ productId: Bun.randomUUIDv7(), quantity: 1 }] },
      { items: [{ productId: archived.id, quantity: 1 }] },
      { items: [line], locationIds: [Bun.randomUUIDv7()] },
      { items: [line], locationIds: [inactive] },
      { items: [line], customerId: '' },
    ];
    for (const body of bodies) {
      const before = await fingerprint(t.db.sql);
      const reply = await t.api.post('/api/v1/holds', body, 'client');
      expect({ body, status: reply.status }).toEqual({ body, status: 422 });
      expect(reply.body.errors.length).toBeGreaterThan(0);
      expect(await fingerprint(t.db.sql)).toEqual(before);
    }
  });

  test('Idempotency-Key: the same request answers the same hold again, another body 422, another credential its own hold', async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    const first = await placeHold(t.api, [{ productId: product.id, quantity: 2 }], { key: 'cart-7' });
    const again = await placeHold(t.api, [{ productId: product.id, quantity: 2 }], { key: 'cart-7' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    await unchanged(() => placeHold(t.api, [{ productId: product.id, quantity: 3 }], { key: 'cart-7' }), 422);
    await unchanged(() => placeHold(t.api, [{ productId: product.id, quantity: 2 }], { key: 'cart-7', ttlSeconds: 60 }), 422);
    const storefront = (await createKey(t.api, 'storefront')).key;
    const theirs = await placeHold(t.api, [{ productId: product.id, quantity: 2 }], { key: 'cart-7', as: storefront });
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(first.body.id);
    expect(await inventory(t.api, product.id)).toMatchObject({ reserved: 4, held: 4 });
  });
});

describe('extending and releasing', () => {
  test('extend: a new expiry from now; an expired, released or converted hold is 409 and stays as it is', async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    const made = (await placeHold(t.api, [{ productId: product.id, quantity: 1 }], { ttlSeconds: 30 })).body;
    const extended = await t.api.post(`/api/v1/holds/${made.id}/extend`, { ttlSeconds: 600 }, 'client');
    expect(extended.status).toBe(200);
    // From the time of the transaction that extended it (kept to the millisecond, as the API shows it).
    const [row] = await t.db.sql`SELECT extract(epoch FROM expires_at - updated_at) * 1000 AS left FROM holds WHERE id = ${made.id}`;
    expect(Math.abs(Number(row!.left) - 600_000)).toBeLessThan(1);
    expect(Date.parse(extended.body.expiresAt)).toBeGreaterThan(Date.parse(made.expiresAt));
    await unchanged(() => t.api.post(`/api/v1/holds/${made.id}/extend`, { ttlSeconds: 3601 }, 'client'), 422);

    await expireIn(t.db.sql, made.id, -1);
    await unchanged(() => t.api.post(`/api/v1/holds/${made.id}/extend`, { ttlSeconds: 600 }, 'client'), 409);
    const released = (await placeHold(t.api, [{ productId: product.id, quantity: 1 }])).body;
    expect((await t.api.delete(`/api/v1/holds/${released.id}`, 'client')).status).toBe(204);
    await unchanged(() => t.api.post(`/api/v1/holds/${released.id}/extend`, { ttlSeconds: 600 }, 'client'), 409);
    const converted = (await placeHold(t.api, [{ productId: product.id, quantity: 1 }], { customerId: 'bob' })).body;
    const order = await t.api.post('/api/v1/orders', { customerId: 'bob', items: [{ productId: product.id, quantity: 1 }], holdId: converted.id }, 'client');
    await orderReaches(t.api, order.body.id, ['processed']);
    await unchanged(() => t.api.post(`/api/v1/holds/${converted.id}/extend`, { ttlSeconds: 600 }, 'client'), 409);
    expect((await t.api.post(`/api/v1/holds/${Bun.randomUUIDv7()}/extend`, { ttlSeconds: 600 }, 'client')).status).toBe(404);
  });

  test('release: the stock is available again at once; repeating it, or releasing a converted or expired hold, is 204 and changes nothing', async () => {
    const product = await createProduct(t.api, { initialStock: 4 });
    const made = (await placeHold(t.api, [{ productId: product.id, quantity: 4 }])).body;
    expect((await placeHold(t.api, [{ productId: product.id, quantity: 1 }])).status).toBe(409);
    expect((await t.api.delete(`/api/v1/holds/${made.id}`, 'client')).status).toBe(204);
    expect(await inventory(t.api, product.id)).toMatchObject({ onHand: 4, reserved: 0, held: 0, available: 4 });
    expect((await hold(made.id)).status).toBe('released');
    await unchanged(() => t.api.delete(`/api/v1/holds/${made.id}`, 'client'), 204);

    const converted = (await placeHold(t.api, [{ productId: product.id, quantity: 2 }], { customerId: 'carol' })).body;
    const order = await t.api.post('/api/v1/orders', { customerId: 'carol', items: [{ productId: product.id, quantity: 2 }], holdId: converted.id }, 'client');
    await orderReaches(t.api, order.body.id, ['processed']);
    await unchanged(() => t.api.delete(`/api/v1/holds/${converted.id}`, 'client'), 204);
    const expired = (await placeHold(t.api, [{ productId: product.id, quantity: 2 }])).body;
    await expireIn(t.db.sql, expired.id, -1);
    await unchanged(() => t.api.delete(`/api/v1/holds/${expired.id}`, 'client'), 204);
    expect((await t.api.delete(`/api/v1/holds/${Bun.randomUUIDv7()}`, 'client')).status).toBe(404);
  });
});

describe('customer tokens', () => {
  test("a customer holds for itself only; another customer's hold is 404 to read, extend or release", async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    const dana = await customerToken('dana');
    const erin = await customerToken('erin');
    const own = await placeHold(t.api, [{ productId: product.id, quantity: 1 }], { customerId: null, as: dana });
    expect(own.status).toBe(201);
    expect(own.body.customerId).toBe('dana');
    await unchanged(() => placeHold(t.api, [{ productId: product.id, quantity: 1 }], { customerId: 'erin', as: dana }), 403);
    expect((await t.api.get(`/api/v1/holds/${own.body.id}`, dana)).status).toBe(200);
    await unchanged(() => t.api.get(`/api/v1/holds/${own.body.id}`, erin), 404);
    await unchanged(() => t.api.post(`/api/v1/holds/${own.body.id}/extend`, { ttlSeconds: 60 }, erin), 404);
    await unchanged(() => t.api.delete(`/api/v1/holds/${own.body.id}`, erin), 404);
    expect((await t.api.get(`/api/v1/holds?productId=${product.id}`, erin)).body.items).toEqual([]);
    expect((await t.api.get(`/api/v1/holds?productId=${product.id}`, dana)).body.items.map((h: { id: string }) => h.id)).toEqual([own.body.id]);
    expect((await t.api.delete(`/api/v1/holds/${own.body.id}`, dana)).status).toBe(204);
  });
});

describe('listing', () => {
  test("a product's active holds, newest first: released, converted and expired ones are not active", async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await placeHold(t.api, [{ productId: product.id, quantity: 1 }], { customerId: `l${i}` })).body.id);
    await t.api.delete(`/api/v1/holds/${ids[0]}`, 'client');
    await expireIn(t.db.sql, ids[1]!, -1);
    const page = await t.api.get(`/api/v1/holds?productId=${product.id}&status=active&limit=1`, 'client');
    expect(page.body.items.map((h: { id: string }) => h.id)).toEqual([ids[3]]);
    const next = await t.api.get(`/api/v1/holds?productId=${product.id}&status=active&cursor=${page.body.nextCursor}`, 'client');
    expect(next.body).toMatchObject({ items: [{ id: ids[2] }], nextCursor: null });
    expect((await t.api.get(`/api/v1/holds?productId=${product.id}&status=expired`, 'client')).body.items.map((h: { id: string }) => h.id)).toEqual([ids[1]]);
  });
});
