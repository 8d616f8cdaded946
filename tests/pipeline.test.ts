import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { connect } from '../src/db/client.ts';
import { buildService } from '../src/service.ts';
import { freshDatabase } from './support/cluster.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { createLocation, stock } from './support/locations.ts';
import { Api, createProduct, orderReaches, placeOrder, quietJobs, startTestService, testEnv, tokens, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * Stock batches decided from memory (src/actors/stock-actors.ts, "pipelined"): a process decides a
 * product's next orders on what its last batch left, without reading, and its write is fenced on
 * the product's version. Two services on one database stand for two processes: whatever one
 * changes that the other's decisions depend on (stock, a price, a location) must make the other's
 * next batch be decided again on the rows as they are, never on what it remembered.
 */
let a: TestService;
let b: TestService;
beforeAll(async () => {
  a = await startTestService(quietJobs);
  b = await startTestService(quietJobs, { db: a.db });
});
afterAll(async () => {
  await b.close();
  await a.close();
});

const recalled = (t: TestService) => t.service.actors.stats().recalled;
const redone = (t: TestService) => t.service.actors.stats().redone;

/** An order placed through `a` and paid: after it, `a` knows the product (its next batch may be decided from memory). */
async function warm(productId: string) {
  const order = await placeOrder(a.api, [{ productId, quantity: 1 }]);
  expect(order.status).toBe(202);
  await orderReaches(a.api, order.body.id, ['processed']);
}

describe('batches decided from memory', () => {
  test('a hot product: most batches are decided from memory, and every count is exact', async () => {
    const product = await createProduct(a.api, { initialStock: 300 });
    await warm(product.id);
    const before = recalled(a);
    const replies = await Promise.all(Array.from({ length: 400 }, (_, i) => placeOrder(a.api, [{ productId: product.id, quantity: 1 }], { customerId: `hot-${i}` })));
    expect(replies.every((r) => r.status === 202)).toBe(true);
    expect(replies.filter((r) => r.body.status === 'reserved')).toHaveLength(299);
    expect(recalled(a)).toBeGreaterThan(before);
    await a.service.orders.worker.sweep();
    await waitFor(async () => (await a.db.sql`SELECT count(*)::int AS n FROM orders WHERE status = 'reserved'`)[0]!.n === 0, 10_000, 'every reserved order paid');
    const [level] = await a.db.sql`SELECT on_hand, reserved, awaiting_shipment FROM inventory_levels WHERE product_id = ${product.id}`;
    expect(level).toEqual({ on_hand: 0, reserved: 0, awaiting_shipment: 300 });
    await expectStockConsistent(a.db.sql);
  });

  test("stock another process added: an order this process remembered short is decided again, and reserved", async () => {
    const product = await createProduct(a.api, { initialStock: 1 });
    await warm(product.id);
    // `a` remembers 0 available; `b` adds 5.
    await b.api.post(`/api/v1/products/${product.id}/inventory/adjustments`, { delta: 5, reason: 'delivery elsewhere' });
    const before = redone(a);
    const order = await placeOrder(a.api, [{ productId: product.id, quantity: 2 }]);
    expect(order.body.status).toBe('reserved');
    expect(redone(a)).toBeGreaterThan(before);
    await expectStockConsistent(a.db.sql);
  });

  test('a price another process changed: the order is priced at the new price', async () => {
    const product = await createProduct(a.api, { initialStock: 100, price: '10.00' });
    await warm(product.id);
    expect((await b.api.patch(`/api/v1/products/${product.id}`, { price: '12.50' })).status).toBe(200);
    const order = await placeOrder(a.api, [{ productId: product.id, quantity: 2 }]);
    expect(order.body.items[0].unitPrice).toBe('12.50');
    expect(order.body.total).toBe('25.00');
  });

  test('a location another process deactivated: nothing is allocated from it', async () => {
    const first = await createLocation(a.api, { priority: 1 });
    const second = await createLocation(a.api, { priority: 2 });
    const product = await createProduct(a.api, { initialStock: 0 });
    await stock(a.api, product.id, first.id, 5);
    await stock(a.api, product.id, second.id, 5);
    await warm(product.id);
    expect((await b.api.patch(`/api/v1/locations/${first.id}`, { active: false })).status).toBe(200);
    const order = await placeOrder(a.api, [{ productId: product.id, quantity: 1 }]);
    expect(order.body.status).toBe('reserved');
    expect(order.body.items[0].allocations).toEqual([{ locationId: second.id, quantity: 1 }]);
  });

  test('the 202 of an order decided from memory says when it was stored', async () => {
    const product = await createProduct(a.api, { initialStock: 100 });
    await warm(product.id);
    const before = recalled(a);
    const order = await placeOrder(a.api, [{ productId: product.id, quantity: 1 }]);
    expect(recalled(a)).toBeGreaterThan(before);
    const stored = await a.api.get(`/api/v1/orders/${order.body.id}`);
    expect(stored.body.createdAt).toBe(order.body.createdAt);
  });

  test('an Idempotency-Key used before: its batch fails on the key and is decided again, as a replay', async () => {
    const product = await createProduct(a.api, { initialStock: 100 });
    await warm(product.id);
    const first = await placeOrder(a.api, [{ productId: product.id, quantity: 1 }], { key: 'pipeline-key' });
    const again = await placeOrder(a.api, [{ productId: product.id, quantity: 1 }], { key: 'pipeline-key' });
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    const other = await placeOrder(a.api, [{ productId: product.id, quantity: 2 }], { key: 'pipeline-key' });
    expect(other.status).toBe(422);
    const [row] = await a.db.sql`SELECT count(*)::int AS n FROM orders WHERE items @> ${JSON.stringify([{ productId: product.id }])}::jsonb`;
    expect(row!.n).toBe(2); // the warm-up order and the keyed one
  });

  test('two processes ordering one product at once, each deciding from memory: exact', async () => {
    const product = await createProduct(a.api, { initialStock: 200 });
    await warm(product.id);
    const bOrder = await placeOrder(b.api, [{ productId: product.id, quantity: 1 }]);
    await orderReaches(b.api, bOrder.body.id, ['processed']);
    const place = (t: TestService, n: number) => Promise.all(Array.from({ length: n }, (_, i) => placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: `both-${i}` })));
    const [fromA, fromB] = await Promise.all([place(a, 150), place(b, 150)]);
    const reserved = [...fromA, ...fromB].filter((r) => r.body.status === 'reserved').length;
    expect(reserved).toBe(198);
    await Promise.all([a.service.orders.worker.sweep(), b.service.orders.worker.sweep()]);
    await waitFor(async () => (await a.db.sql`SELECT count(*)::int AS n FROM orders WHERE status = 'reserved'`)[0]!.n === 0, 10_000, 'every reserved order paid');
    await expectStockConsistent(a.db.sql);
  });
});

describe('the statements of a stock transaction, as they go out on each connection', () => {
  test('every lock and write of a batch (read or decided from memory) is sent between its BEGIN and its COMMIT', async () => {
    const db = await freshDatabase();
    const sent = new Map<number, string[]>();
    const probe = connect(db.url, { onStatement: (text, _parameters, connection) => sent.set(connection, [...(sent.get(connection) ?? []), text.trim()]) });
    const service = await buildService(loadConfig({ ...testEnv, ...quietJobs, NODE_ID: 'statement-order' }), probe, tokens, pino({ level: 'silent' }));
    try {
      await service.start();
      const api = new Api((request) => service.app.handle(request));
      const product = await createProduct(api, { initialStock: 1000 });
      const first = await placeOrder(api, [{ productId: product.id, quantity: 1 }]);
      await orderReaches(api, first.body.id, ['processed']);
      await Promise.all(Array.from({ length: 200 }, (_, i) => placeOrder(api, [{ productId: product.id, quantity: 1 }], { customerId: `order-${i}` })));
      await service.actors.drain();
      expect(service.actors.stats().recalled).toBeGreaterThan(0);
      const isStock = (text: string) => text.includes('pg_advisory_xact_lock_shared') || /^WITH\s+s_/.test(text);
      let stock = 0;
      for (const texts of sent.values()) {
        let open = false;
        for (const text of texts) {
          if (text === 'BEGIN') open = true;
          else if (text === 'COMMIT' || text === 'ROLLBACK') open = false;
          else if (isStock(text)) {
            stock++;
            expect(open, `a stock statement sent outside a transaction: ${text.slice(0, 80)}`).toBe(true);
          }
        }
      }
      expect(stock).toBeGreaterThan(4);
    } finally {
      await service.stop();
      await probe.close();
      await db.drop();
    }
  });
});

describe('while a process of an older stock model beats', () => {
  test('no batch is decided from memory; once it is gone, they are again', async () => {
    const t = await startTestService({ ...quietJobs, HEARTBEAT_MS: '50', HEARTBEAT_TTL_MS: '2000' });
    try {
      const product = await createProduct(t.api, { initialStock: 100 });
      await t.db.sql`INSERT INTO nodes (incarnation, node_id, stock_model) VALUES (gen_random_uuid(), 'older', 2)`;
      await waitFor(async () => {
        const before = recalled(t);
        await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
        await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
        return recalled(t) === before;
      }, 5000, 'batches that read while the older process beats');
      await t.db.sql`DELETE FROM nodes WHERE node_id = 'older'`;
      await waitFor(async () => {
        const before = recalled(t);
        await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
        await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
        return recalled(t) > before;
      }, 5000, 'batches decided from memory again');
    } finally {
      await t.close();
    }
  });
});
