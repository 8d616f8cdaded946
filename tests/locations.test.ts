import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import postgres from 'postgres';
import { DEFAULT_LOCATION_ID } from '../src/db/schema/locations.ts';
import { createKey } from './support/credentials.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { countsAt, createLocation, stock, uniqueCode } from './support/locations.ts';
import { createProduct, placeOrder, quietJobs, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/** Locations over HTTP (issue 20): create, read, change, delete only when empty, and the rollout guard. */
let t: TestService;

beforeAll(async () => {
  t = await startTestService(quietJobs);
});
afterAll(() => t.close());

/** Every row of the tables a refused request must leave alone. */
const snapshot = async () => ({
  locations: await t.db.sql`SELECT * FROM locations ORDER BY id`,
  levels: await t.db.sql`SELECT * FROM location_levels ORDER BY product_id, location_id`,
  movements: await t.db.sql`SELECT count(*)::int AS n FROM stock_movements`,
});

describe('create, read, list, change', () => {
  test('a new location has the defaults API.md gives, and reads back as created', async () => {
    const code = uniqueCode('WH');
    const created = await t.api.post('/api/v1/locations', { code, name: 'East warehouse' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      code,
      name: 'East warehouse',
      kind: 'warehouse',
      priority: 100,
      active: true,
      default: false,
      createdAt: expect.any(String),
    });
    expect((await t.api.get(`/api/v1/locations/${created.body.id}`, 'client')).body).toEqual(created.body);
    const store = await createLocation(t.api, { kind: 'store', priority: 5, active: false });
    expect(store).toMatchObject({ kind: 'store', priority: 5, active: false, default: false });
  });

  test('the default location is there after the upgrade, with its code, and the list goes by priority then code, in pages', async () => {
    const defaultLocation = await t.api.get(`/api/v1/locations/${DEFAULT_LOCATION_ID}`);
    expect(defaultLocation.body).toMatchObject({ code: 'default', default: true, active: true, kind: 'warehouse' });
    const prefix = uniqueCode('ORD');
    for (const [suffix, priority] of [['B', 7], ['a', 7], ['C', 3]] as const) await createLocation(t.api, { code: `${prefix}-${suffix}`, priority });
    const seen: { code: string; priority: number }[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: { code: string; priority: number }[]; nextCursor: string | null } } = await t.api.get(
        `/api/v1/locations?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        'client',
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    const mine = seen.filter((l) => l.code.startsWith(prefix)).map((l) => l.code.slice(prefix.length + 1));
    expect(mine).toEqual(['C', 'a', 'B']);
    const keys = seen.map((l) => [l.priority, l.code.toLowerCase()] as const);
    expect(keys).toEqual([...keys].sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : 1)));
  });

  test('PATCH changes name, priority and active, nothing else', async () => {
    const location = await createLocation(t.api);
    const changed = await t.api.patch(`/api/v1/locations/${location.id}`, { name: 'Renamed', priority: 42, active: false });
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual({ ...location, name: 'Renamed', priority: 42, active: false });
    expect((await t.api.patch(`/api/v1/locations/${location.id}`, { active: true })).body.active).toBe(true);
    expect((await t.api.patch(`/api/v1/locations/${location.id}`, {})).status).toBe(422);
    expect((await t.api.patch(`/api/v1/locations/${location.id}`, { code: 'NEW' })).status).toBe(422);
  });

  test('a code already used, in any case, is 409 and creates nothing', async () => {
    const location = await createLocation(t.api);
    const before = await snapshot();
    const again = await t.api.post('/api/v1/locations', { code: location.code.toLowerCase(), name: 'Twin' });
    expect(again.status).toBe(409);
    expect(again.headers.get('content-type')).toContain('application/problem+json');
    expect(again.body.detail).toContain('already exists');
    expect(await snapshot()).toEqual(before);
  });

  test('bad input is 422 naming the field; an unknown location is 404', async () => {
    for (const [body, path] of [
      [{ code: 'has space', name: 'x' }, 'body.code'],
      [{ code: 'OK', name: 'x', kind: 'shed' }, 'body.kind'],
      [{ code: 'OK', name: 'x', priority: 1.5 }, 'body.priority'],
      [{ code: 'OK', name: ' ' }, 'body.name'],
    ] as const) {
      const reply = await t.api.post('/api/v1/locations', body);
      expect(reply.status).toBe(422);
      expect(reply.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    const missing = '01900000-0000-7000-8000-0000000000ff';
    expect((await t.api.get(`/api/v1/locations/${missing}`)).status).toBe(404);
    expect((await t.api.patch(`/api/v1/locations/${missing}`, { name: 'x' })).status).toBe(404);
    expect((await t.api.delete(`/api/v1/locations/${missing}`)).status).toBe(404);
    expect((await t.api.get(`/api/v1/locations/${missing}/inventory`)).status).toBe(404);
  });

  test('who may: reads for every integration, changes for admins only', async () => {
    const location = await createLocation(t.api);
    for (const role of ['storefront', 'warehouse', 'read-only'] as const) {
      const key = (await createKey(t.api, role)).key;
      expect((await t.api.get(`/api/v1/locations/${location.id}`, key)).status).toBe(200);
      expect((await t.api.post('/api/v1/locations', { code: uniqueCode(), name: 'x' }, key)).status).toBe(403);
      expect((await t.api.patch(`/api/v1/locations/${location.id}`, { name: 'x' }, key)).status).toBe(403);
    }
  });
});

describe('the default location', () => {
  test('cannot be deactivated nor deleted (409), and stays as it was', async () => {
    const before = await snapshot();
    const deactivate = await t.api.patch(`/api/v1/locations/${DEFAULT_LOCATION_ID}`, { active: false });
    expect(deactivate.status).toBe(409);
    expect(deactivate.body.detail).toContain('default location');
    expect((await t.api.delete(`/api/v1/locations/${DEFAULT_LOCATION_ID}`)).status).toBe(409);
    expect(await snapshot()).toEqual(before);
    // Its name and priority may change.
    expect((await t.api.patch(`/api/v1/locations/${DEFAULT_LOCATION_ID}`, { priority: 100 })).status).toBe(200);
  });
});

describe('delete', () => {
  test('only an empty location goes: on hand, awaiting shipment, incoming or a transfer in transit keep it (409, nothing changes)', async () => {
    const a = await createLocation(t.api);
    const b = await createLocation(t.api);
    const product = await createProduct(t.api);
    await stock(t.api, product.id, a.id, 4);
    const refused = async (id: string, why: string) => {
      const before = await snapshot();
      const reply = await t.api.delete(`/api/v1/locations/${id}`);
      expect(reply.status, why).toBe(409);
      expect(await snapshot()).toEqual(before);
      return reply;
    };
    expect((await refused(a.id, 'on hand')).body.detail).toContain('stock of 1 product');

    // Sold there, awaiting shipment there (reserved: the next test).
    await stock(t.api, product.id, a.id, -4);
    await stock(t.api, product.id, b.id, 2);
    const order = await placeOrder(t.api, [{ productId: product.id, quantity: 2 }]);
    expect(order.body.items[0].allocations).toEqual([{ locationId: b.id, quantity: 2 }]);
    await waitFor(async () => (await countsAt(t.api, product.id, b.id)).awaitingShipment === 2, 10_000, 'the order sold');
    await refused(b.id, 'awaiting shipment');
    expect((await t.api.post(`/api/v1/orders/${order.body.id}/ship`)).status).toBe(200);

    // A transfer in transit names both of its places; what it brings is incoming at the destination.
    await stock(t.api, product.id, a.id, 3);
    const transfer = (await t.api.post('/api/v1/transfers', { fromLocationId: a.id, toLocationId: b.id, items: [{ productId: product.id, quantity: 3 }] })).body;
    expect((await refused(a.id, 'source of a transfer in transit')).body.detail).toContain('1 transfer(s) in transit');
    await refused(b.id, 'incoming');
    expect((await t.api.post(`/api/v1/transfers/${transfer.id}/cancel`)).status).toBe(200);
    await refused(a.id, 'on hand again');
    await stock(t.api, product.id, a.id, -3);

    // Empty now: both go (204), and are gone from reads.
    for (const location of [a, b]) {
      expect((await t.api.delete(`/api/v1/locations/${location.id}`)).status).toBe(204);
      expect((await t.api.get(`/api/v1/locations/${location.id}`)).status).toBe(404);
    }
    await expectStockConsistent(t.db.sql);
  });

  test('stock reserved there keeps it too', async () => {
    // Payments that never answer: the order stays reserved.
    const slow = await startTestService({ ...quietJobs, PAYMENT_LATENCY_MS: '600000', PAYMENT_TIMEOUT_MS: '600000' });
    try {
      const location = await createLocation(slow.api);
      const product = await createProduct(slow.api);
      await stock(slow.api, product.id, location.id, 2);
      const order = await placeOrder(slow.api, [{ productId: product.id, quantity: 2 }]);
      expect(order.body.status).toBe('reserved');
      const reply = await slow.api.delete(`/api/v1/locations/${location.id}`);
      expect(reply.status).toBe(409);
      expect(await countsAt(slow.api, product.id, location.id)).toEqual({ onHand: 2, reserved: 2, incoming: 0, awaitingShipment: 0 });
      expect((await slow.api.get(`/api/v1/locations/${location.id}`)).status).toBe(200);
    } finally {
      await slow.close();
    }
  });

  test('deletion is soft: the ledger still names the location, and its code may be used again', async () => {
    const location = await createLocation(t.api);
    const product = await createProduct(t.api);
    await stock(t.api, product.id, location.id, 5);
    await stock(t.api, product.id, location.id, -5);
    expect((await t.api.delete(`/api/v1/locations/${location.id}`)).status).toBe(204);
    const movements = (await t.api.get(`/api/v1/products/${product.id}/inventory/movements`)).body.items;
    expect(movements.filter((m: { locationId: string }) => m.locationId === location.id)).toHaveLength(2);
    const again = await t.api.post('/api/v1/locations', { code: location.code, name: 'Same code, new place' });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(location.id);
    // Stock no longer goes to the deleted one.
    const write = await t.api.post(`/api/v1/products/${product.id}/inventory/adjustments`, { delta: 1, reason: 'x', locationId: location.id });
    expect(write.status).toBe(422);
    expect(write.body.errors).toEqual([{ path: 'body.locationId', message: 'is not a location' }]);
    await expectStockConsistent(t.db.sql);
  });

  test('a stock change under way at the location when it is deleted is waited for: the delete then sees it (409), never stock at a deleted place', async () => {
    const location = await createLocation(t.api);
    const product = await createProduct(t.api);
    // Another session holds the product's stock row: the stock transaction reads the location as
    // live, decides, and waits at its write.
    const blocker = postgres(t.db.url, { max: 1, onnotice: () => {} });
    const holding = await blocker.reserve();
    try {
      await holding`BEGIN`;
      await holding`SELECT 1 FROM inventory_levels WHERE product_id = ${product.id} FOR UPDATE`;
      const adjusted = t.api.post(`/api/v1/products/${product.id}/inventory/adjustments`, { delta: 5, reason: 'arriving', locationId: location.id });
      await waitFor(
        async () => (await t.db.sql`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE inventory_levels l%'`).length > 0,
        5_000,
        'the stock write waiting',
      );
      let answered = false;
      const deleted = t.api.delete(`/api/v1/locations/${location.id}`).finally(() => (answered = true));
      await waitFor(
        async () => answered || (await t.db.sql`SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ExclusiveLock' AND NOT granted`).length > 0,
        5_000,
        'the delete to answer, or to wait for the stock work under way',
      );
      await holding`COMMIT`;
      expect((await adjusted).status).toBe(200);
      expect((await deleted).status).toBe(409);
    } finally {
      holding.release();
      await blocker.end();
    }
    expect((await t.api.get(`/api/v1/locations/${location.id}`)).status).toBe(200);
    expect((await countsAt(t.api, product.id, location.id)).onHand).toBe(5);
    await expectStockConsistent(t.db.sql);
  });
});

describe("a location's inventory", () => {
  test('each product kept there, with its SKU and counts, in pages', async () => {
    const location = await createLocation(t.api);
    const products = [await createProduct(t.api), await createProduct(t.api), await createProduct(t.api)];
    for (const [i, product] of products.entries()) await stock(t.api, product.id, location.id, i + 1);
    const order = await placeOrder(t.api, [{ productId: products[2]!.id, quantity: 1 }], { customerId: 'inventory-page' });
    expect(order.body.status).toBe('reserved');
    const readOnly = (await createKey(t.api, 'read-only')).key;
    const seen: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: Record<string, unknown>[]; nextCursor: string | null } } = await t.api.get(
        `/api/v1/locations/${location.id}/inventory?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        readOnly,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.map((l) => l.productId)).toEqual(products.map((p) => p.id).sort());
    const third = seen.find((l) => l.productId === products[2]!.id)!;
    expect(third).toMatchObject({ sku: products[2]!.sku, locationId: location.id, locationCode: location.code, incoming: 0, held: 0 });
    // The order holds one unit there: reserved, or sold and awaiting shipment by now.
    expect(Number(third.onHand) + Number(third.awaitingShipment)).toBe(3);
    expect(Number(third.reserved) + Number(third.awaitingShipment)).toBe(1);
    expect(third.available).toBe(2);
  });
});

describe("the list's totals", () => {
  test('withTotals=true: what each location holds over every product, as its products say; a location without stock holds zeros; without it, no totals', async () => {
    const [store, shop, empty] = [await createLocation(t.api), await createLocation(t.api), await createLocation(t.api)];
    const [mug, cap] = [await createProduct(t.api), await createProduct(t.api)];
    await stock(t.api, mug.id, store.id, 5);
    await stock(t.api, cap.id, store.id, 3);
    // Kept there once, counted back to nothing: its row is left, and holds nothing.
    await stock(t.api, mug.id, empty.id, 2);
    await stock(t.api, mug.id, empty.id, -2);
    const order = await placeOrder(t.api, [{ productId: cap.id, quantity: 1 }], { customerId: 'totals' });
    expect(order.body.items[0].allocations).toEqual([{ locationId: store.id, quantity: 1 }]);
    await waitFor(async () => (await countsAt(t.api, cap.id, store.id)).awaitingShipment === 1, 10_000, 'the order sold');
    expect((await t.api.post('/api/v1/transfers', { fromLocationId: store.id, toLocationId: shop.id, items: [{ productId: mug.id, quantity: 2 }] })).status).toBe(201);

    const listed = async (query: string) => {
      const items: Record<string, any>[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: { items: Record<string, any>[]; nextCursor: string | null } } = await t.api.get(
          `/api/v1/locations?limit=2${query}${cursor ? `&cursor=${cursor}` : ''}`,
          'client',
        );
        expect(page.status).toBe(200);
        items.push(...page.body.items);
        cursor = page.body.nextCursor;
      } while (cursor);
      return new Map(items.map((l) => [l.id, l]));
    };
    const withTotals = await listed('&withTotals=true');
    expect(withTotals.get(store.id)!.totals).toEqual({ products: 2, onHand: 3 + 2, reserved: 0, held: 0, available: 5, incoming: 0, awaitingShipment: 1 });
    expect(withTotals.get(shop.id)!.totals).toEqual({ products: 1, onHand: 0, reserved: 0, held: 0, available: 0, incoming: 2, awaitingShipment: 0 });
    expect(withTotals.get(empty.id)!.totals).toEqual({ products: 0, onHand: 0, reserved: 0, held: 0, available: 0, incoming: 0, awaitingShipment: 0 });
    expect(withTotals.get(store.id)).toMatchObject({ code: store.code, priority: store.priority });
    // Every live location's totals are the sums of its stock rows.
    const sums = await t.db.sql<{ locationId: string; onHand: number }[]>`
      SELECT location_id AS "locationId", sum(on_hand)::int AS "onHand" FROM location_levels
      WHERE location_id IN (SELECT id FROM locations WHERE deleted_at IS NULL) GROUP BY location_id`;
    expect(sums.map((row) => row.locationId)).toEqual(expect.arrayContaining([store.id, shop.id]));
    for (const row of sums) expect(withTotals.get(row.locationId)?.totals.onHand).toBe(row.onHand);

    const plain = await listed('');
    expect([...plain.values()].some((l) => 'totals' in l)).toBe(false);
    expect((await t.api.get('/api/v1/locations?withTotals=maybe')).status).toBe(422);
    await expectStockConsistent(t.db.sql);
  });
});

describe('the rollout guard', () => {
  test('while a process of the previous version beats, no location can be created or activated (409); once it is gone, both can', async () => {
    const inactive = await createLocation(t.api, { active: false });
    const [old] = await t.db.sql<{ incarnation: string }[]>`
      INSERT INTO nodes (incarnation, node_id) VALUES (gen_random_uuid(), 'previous-version') RETURNING incarnation`;
    try {
      const before = await snapshot();
      const created = await t.api.post('/api/v1/locations', { code: uniqueCode(), name: 'Too early' });
      expect(created.status).toBe(409);
      expect(created.body.detail).toContain('previous version');
      const activated = await t.api.patch(`/api/v1/locations/${inactive.id}`, { active: true });
      expect(activated.status).toBe(409);
      expect(await snapshot()).toEqual(before);
      // What keeps stock at the default location alone is still allowed.
      expect((await t.api.patch(`/api/v1/locations/${inactive.id}`, { name: 'Renamed meanwhile' })).status).toBe(200);

      // Its heartbeat stops: past HEARTBEAT_TTL_MS it no longer counts.
      await t.db.sql`UPDATE nodes SET heartbeat_at = now() - ${t.config.heartbeatTtlMs + 1000} * interval '1 millisecond' WHERE incarnation = ${old!.incarnation}`;
      expect((await t.api.post('/api/v1/locations', { code: uniqueCode(), name: 'In time' })).status).toBe(201);
      expect((await t.api.patch(`/api/v1/locations/${inactive.id}`, { active: true })).status).toBe(200);
    } finally {
      await t.db.sql`DELETE FROM nodes WHERE incarnation = ${old!.incarnation}`;
    }
  });
});
