import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { connect, type Database } from '../src/db/client.ts';
import { buildService, type Service } from '../src/service.ts';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { expireIn, placeHold } from './support/holds.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { Api, createProduct, orderReaches, placeOrder, quietJobs, testEnv, tokens } from './support/service.ts';

/**
 * What holds cost the stock batches of products that have none: nothing. Every statement the
 * service sends is seen here (postgres.js's debug hook); with no timer running, only the stock
 * engine's keeper could ask about holds, and it must not for a product with nothing held whose
 * works name no hold. Once a product holds units, its batches that read its rows read its lapsed
 * holds too.
 */
let db: TestDatabase;
let probe: Database;
let service: Service;
let api: Api;
const sent: string[] = [];
const aboutHolds = () => sent.filter((text) => /\bholds\b/.test(text));

beforeAll(async () => {
  db = await freshDatabase();
  probe = connect(db.url, { onStatement: (text) => sent.push(text) });
  service = await buildService(loadConfig({ ...testEnv, ...quietJobs, NODE_ID: 'hot-path' }), probe, tokens, pino({ level: 'silent' }));
  await service.start({ background: false });
  api = new Api((request) => service.app.handle(request));
});
afterAll(async () => {
  await service.stop();
  await probe.close();
  await db.drop();
});

describe('the hot path of a product with nothing held', () => {
  test('orders, their payment and sale, adjustments: not one statement about holds; a batch that reads a product holding units reads its lapsed holds', async () => {
    const plain = await createProduct(api, { initialStock: 1000 });
    const held = await createProduct(api, { initialStock: 1000 });
    sent.length = 0;
    const orders = await Promise.all(Array.from({ length: 50 }, (_, i) => placeOrder(api, [{ productId: plain.id, quantity: 1 }], { customerId: `hot-${i}` })));
    for (const order of orders) await orderReaches(api, order.body.id, ['processed']);
    await api.post(`/api/v1/products/${plain.id}/inventory/adjustments`, { delta: 5, reason: 'delivery' });
    expect(sent.length).toBeGreaterThan(50);
    expect(aboutHolds()).toEqual([]);

    const hold = (await placeHold(api, [{ productId: held.id, quantity: 1 }])).body;
    await expireIn(db.sql, hold.id, 60_000);
    sent.length = 0;
    // A batch that reads the product's rows (an adjustment does; an order with enough stock is decided from memory) reads its lapsed holds too.
    await api.post(`/api/v1/products/${held.id}/inventory/adjustments`, { delta: 5, reason: 'delivery' });
    expect(aboutHolds().some((text) => text.includes('expires_at <= now()'))).toBe(true);

    sent.length = 0;
    const again = await placeOrder(api, [{ productId: plain.id, quantity: 1 }]);
    await orderReaches(api, again.body.id, ['processed']);
    expect(aboutHolds()).toEqual([]);
    await expectStockConsistent(db.sql);
  });
});
