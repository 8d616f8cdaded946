import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import type { SimulatedGateway } from '../src/modules/payments/simulator.ts';
import { SimulatedWarehouse } from '../src/modules/warehouse/simulator.ts';
import { createWarehouseServer, type WarehouseServer } from '../src/modules/warehouse/server.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { createProduct, orderReaches, placeOrder, startTestService, uniqueSku, type TestService } from './support/service.ts';

let t: TestService;
let warehouse: SimulatedWarehouse;
beforeAll(async () => {
  // Drift only when a test asks for it; small pages so runs have several.
  t = await startTestService({ WAREHOUSE_DRIFT_INTERVAL_MS: '0', WAREHOUSE_PAGE_SIZE: '3', WAREHOUSE_TIMEOUT_MS: '200' });
  warehouse = t.service.warehouseClient as SimulatedWarehouse;
});
afterAll(() => t.close());
beforeEach(() => warehouse.stock.clearForced());

const sync = async () => {
  const reply = await t.api.post('/api/v1/warehouse/sync');
  expect(reply.status).toBe(200);
  return reply.body as { id: string; status: string; itemsChecked: number; itemsAdjusted: number; errors: { sku: string | null; message: string }[] };
};
const level = async (id: string) => (await t.api.get(`/api/v1/products/${id}/inventory`)).body;

describe('warehouse sync', () => {
  test('drift is corrected through the ledger, with the run id on each movement; a repeat changes nothing', async () => {
    const products = await Promise.all([5, 10, 15, 20].map((n) => createProduct(t.api, { sku: uniqueSku('WH'), initialStock: n })));
    const first = await sync(); // the warehouse learns the catalog as it is
    expect(first.status).toBe('succeeded');
    warehouse.stock.set([
      { sku: products[0]!.sku, onHand: 7 },
      { sku: products[1]!.sku, onHand: 4 },
    ]);
    const run = await sync();
    expect(run).toMatchObject({ status: 'succeeded', itemsAdjusted: 2 });
    expect(run.itemsChecked).toBeGreaterThanOrEqual(4);
    expect((await level(products[0]!.id)).onHand).toBe(7);
    expect((await level(products[1]!.id)).onHand).toBe(4);
    expect((await level(products[2]!.id)).onHand).toBe(15);
    const movements = await t.db.sql`SELECT product_id, delta, reason FROM stock_movements WHERE sync_run_id = ${run.id} ORDER BY delta`;
    expect(movements.map((m) => [m.product_id, m.delta, m.reason])).toEqual([
      [products[1]!.id, -6, 'warehouse-sync'],
      [products[0]!.id, 2, 'warehouse-sync'],
    ]);
    const again = await sync();
    expect(again).toMatchObject({ status: 'succeeded', itemsAdjusted: 0 });
    await expectStockConsistent(t.db.sql);
  });

  test('random drift (injected clock) is what the next run corrects', async () => {
    const product = await createProduct(t.api, { sku: uniqueSku('DRIFT'), initialStock: 50 });
    await sync();
    const changed = warehouse.stock.drift(1, 3); // every SKU moves
    expect(changed).toBeGreaterThan(0);
    const counted = warehouse.stock.get(product.sku)!;
    const run = await sync();
    expect(run.itemsAdjusted).toBeGreaterThan(0);
    expect((await level(product.id)).onHand).toBe(counted);
  });

  test('a count below what open orders hold keeps onHand at the reserved amount and reports the shortfall', async () => {
    const product = await createProduct(t.api, { sku: uniqueSku('SHORT'), initialStock: 10 });
    await sync();
    const gateway = t.service.gateway as SimulatedGateway;
    gateway.behaviour.failNext('hang', 1);
    const order = await placeOrder(t.api, [{ productId: product.id, quantity: 6 }]);
    await orderReaches(t.api, order.body.id, ['reserved']);
    warehouse.stock.set([{ sku: product.sku, onHand: 2 }]);
    const run = await sync();
    expect(run.status).toBe('succeeded');
    expect(run.errors).toContainEqual({ sku: product.sku, message: expect.stringContaining('below the 6 reserved') });
    expect(await level(product.id)).toMatchObject({ onHand: 6, reserved: 6, available: 0 });
    await expectStockConsistent(t.db.sql);
  });

  test('stock sold but not shipped is still in the warehouse: a sync does not put it back on sale', async () => {
    const product = await createProduct(t.api, { sku: uniqueSku('SOLD'), initialStock: 10 });
    await sync();
    const order = await placeOrder(t.api, [{ productId: product.id, quantity: 4 }]);
    await orderReaches(t.api, order.body.id, ['processed']);
    expect(await level(product.id)).toMatchObject({ onHand: 6, awaitingShipment: 4 });
    // The warehouse still holds all 10 units (the order has not shipped): nothing to correct.
    expect(warehouse.stock.get(product.sku)).toBe(10);
    const run = await sync();
    expect((await level(product.id)).onHand).toBe(6);
    expect(run.errors.filter((e) => e.sku === product.sku)).toEqual([]);
    // Once shipped, the warehouse counts 6 and so does the shop.
    expect((await t.api.post(`/api/v1/orders/${order.body.id}/ship`, undefined, 'admin')).status).toBe(200);
    expect(await level(product.id)).toMatchObject({ onHand: 6, awaitingShipment: 0 });
    warehouse.stock.set([{ sku: product.sku, onHand: 6 }]);
    await sync();
    expect((await level(product.id)).onHand).toBe(6);
    await expectStockConsistent(t.db.sql);
  });

  test('orders placed during a sync never oversell', async () => {
    const product = await createProduct(t.api, { sku: uniqueSku('RACE'), initialStock: 40 });
    await sync();
    warehouse.stock.set([{ sku: product.sku, onHand: 25 }]);
    const [run, ...replies] = await Promise.all([sync(), ...Array.from({ length: 60 }, () => placeOrder(t.api, [{ productId: product.id, quantity: 1 }]))]);
    expect(run!.status).toBe('succeeded');
    const ids = replies.map((r) => r.body.id as string);
    for (const id of ids) await orderReaches(t.api, id, ['processed', 'failed'], 15_000);
    const [row] = await t.db.sql`SELECT count(*)::int AS n FROM orders WHERE id = ANY(${ids}::uuid[]) AND status = 'processed'`;
    const after = await level(product.id);
    expect(after.reserved).toBe(0);
    expect(after.onHand).toBeGreaterThanOrEqual(0);
    expect(row!.n).toBeLessThanOrEqual(40);
    await expectStockConsistent(t.db.sql);
  });

  test('the warehouse is down: the run is failed and nothing changes', async () => {
    const product = await createProduct(t.api, { sku: uniqueSku('DOWN'), initialStock: 9 });
    await sync();
    warehouse.stock.set([{ sku: product.sku, onHand: 1 }]);
    warehouse.stock.failNext('down');
    const run = await sync();
    expect(run.status).toBe('failed');
    expect(run.itemsChecked).toBe(0);
    expect(run.errors.at(-1)).toEqual({ sku: null, message: expect.stringContaining('503') });
    expect((await level(product.id)).onHand).toBe(9);
  });

  test('the warehouse is too slow: failed, nothing changes', async () => {
    const product = await createProduct(t.api, { sku: uniqueSku('SLOW'), initialStock: 9 });
    await sync();
    warehouse.stock.set([{ sku: product.sku, onHand: 1 }]);
    warehouse.stock.failNext('slow');
    const run = await sync();
    expect(run.status).toBe('failed');
    expect(run.errors.at(-1)!.message).toContain('no answer within 200 ms');
    expect((await level(product.id)).onHand).toBe(9);
  });

  test('a malformed page after good ones: partial, the good pages applied, no corrupted count', async () => {
    await sync();
    const all = warehouse.stock.all();
    expect(all.length).toBeGreaterThan(6); // page size 3: several pages
    warehouse.stock.set(all.map((c) => ({ sku: c.sku, onHand: c.onHand + 1 })));
    warehouse.stock.failNext('malformed'); // the first page request
    const failed = await sync();
    expect(failed.status).toBe('failed');
    expect(failed.errors.at(-1)!.message).toContain('malformed page');
    // now the second page request fails: the first page is applied, the rest is not
    warehouse.stock.failNext('malformed', 1, 1);
    const run = await sync();
    expect(run.status).toBe('partial');
    expect(run.itemsChecked).toBe(3);
    expect(run.itemsAdjusted).toBeGreaterThan(0);
    await expectStockConsistent(t.db.sql);
    expect((await sync()).status).toBe('succeeded');
  });

  test('an unknown SKU is reported and ignored', async () => {
    warehouse.stock.failNext('unknown-sku');
    const run = await sync();
    expect(run.status).toBe('succeeded');
    expect(run.errors.some((e) => e.sku?.startsWith('UNKNOWN-') && e.message.includes('unknown SKU'))).toBe(true);
  });

  test('counts per location: each location by its code, the default without one; an unknown code is an error of the run, nothing else changes', async () => {
    const store = { id: crypto.randomUUID(), code: `STORE-${Date.now().toString(36)}` };
    await t.db.sql`INSERT INTO locations (id, code, name, kind, priority) VALUES (${store.id}, ${store.code}, 'A store', 'store', 50)`;
    const product = await createProduct(t.api, { sku: uniqueSku('WHL'), initialStock: 10 });
    expect((await t.api.post(`/api/v1/products/${product.id}/inventory/adjustments`, { delta: 4, reason: 'delivery', locationId: store.id })).status).toBe(200);
    expect((await sync()).status).toBe('succeeded'); // learns both counts
    expect(warehouse.stock.get(product.sku)).toBe(10);
    expect(warehouse.stock.get(product.sku, store.code)).toBe(4);
    warehouse.stock.set([
      { sku: product.sku, onHand: 8 },
      { sku: product.sku, onHand: 6, location: store.code },
      { sku: product.sku, onHand: 99, location: 'NOWHERE' },
    ]);
    const run = await sync();
    expect(run.status).toBe('succeeded');
    expect(run.errors).toContainEqual({ sku: product.sku, message: 'unknown location "NOWHERE": no location has this code; ignored' });
    const after = await level(product.id);
    const at = (id: string) => after.locations.find((l: { locationId: string }) => l.locationId === id)?.onHand;
    expect(at(store.id)).toBe(6);
    expect(after.onHand).toBe(14);
    const movements = await t.db.sql`SELECT location_id, delta FROM stock_movements WHERE sync_run_id = ${run.id} AND product_id = ${product.id} ORDER BY delta`;
    expect(movements.map((m) => [m.location_id, m.delta])).toEqual([
      [after.locations.find((l: { locationCode: string }) => l.locationCode === 'default').locationId, -2],
      [store.id, 2],
    ]);
    await expectStockConsistent(t.db.sql);
  });

  test('runs are listed newest first, admin only', async () => {
    const a = await sync();
    const b = await sync();
    const page = await t.api.get('/api/v1/warehouse/syncs?limit=2');
    expect(page.body.items.map((r: { id: string }) => r.id)).toEqual([b.id, a.id]);
    expect(page.body.nextCursor).not.toBeNull();
    expect((await t.api.get('/api/v1/warehouse/syncs', 'client')).status).toBe(403);
    expect((await t.api.post('/api/v1/warehouse/sync', undefined, 'client')).status).toBe(403);
  });
});

describe('warehouse over HTTP (WAREHOUSE_URL)', () => {
  let server: WarehouseServer;
  let remote: TestService;
  beforeAll(async () => {
    server = createWarehouseServer({ port: 0, slowMs: 1000 });
    remote = await startTestService({ WAREHOUSE_URL: server.url, WAREHOUSE_TIMEOUT_MS: '300', WAREHOUSE_PAGE_SIZE: '2' });
  });
  afterAll(async () => {
    await remote.close();
    await server.stop();
  });

  test('counts over HTTP, pages, failures', async () => {
    const products = await Promise.all([1, 2, 3].map(() => createProduct(remote.api, { sku: uniqueSku('HTTP'), initialStock: 5 })));
    server.stock.set(products.map((p, i) => ({ sku: p.sku.toLowerCase(), onHand: 10 + i })));
    const run = (await remote.api.post('/api/v1/warehouse/sync')).body;
    expect(run).toMatchObject({ status: 'succeeded', itemsAdjusted: 3 });
    for (const [i, p] of products.entries()) expect((await remote.api.get(`/api/v1/products/${p.id}/inventory`)).body.onHand).toBe(10 + i);
    server.stock.failNext('down');
    expect((await remote.api.post('/api/v1/warehouse/sync')).body.status).toBe('failed');
    server.stock.failNext('slow');
    expect((await remote.api.post('/api/v1/warehouse/sync')).body.status).toBe('failed');
    await fetch(`${server.url}/control/fail`, { method: 'POST', body: JSON.stringify({ mode: 'malformed' }) });
    const malformed = (await remote.api.post('/api/v1/warehouse/sync')).body;
    expect(malformed.status).toBe('failed');
    expect(malformed.errors.at(-1).message).toContain('malformed');
    for (const [i, p] of products.entries()) expect((await remote.api.get(`/api/v1/products/${p.id}/inventory`)).body.onHand).toBe(10 + i);
  });
});
