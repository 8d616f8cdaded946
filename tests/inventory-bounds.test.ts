import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createProduct, quietJobs, startTestService, type TestService } from './support/service.ts';

/**
 * Stock stays inside PostgreSQL's `integer`. One request cannot leave it (the request models cap
 * `delta` and `onHand` at 1e9), but repeated valid adjustments can: the one that would pass
 * 2,147,483,647 is a 409 (a valid request the current state makes impossible), changes nothing,
 * and fails alone.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService(quietJobs);
});
afterAll(() => t.close());

const INT_MAX = 2147483647;

async function level(productId: string) {
  const [row] = await t.db.sql`
    SELECT on_hand AS "onHand", (SELECT count(*)::int FROM stock_movements WHERE product_id = ${productId}) AS movements
    FROM inventory_levels WHERE product_id = ${productId}`;
  return row as { onHand: number; movements: number };
}

test('one request cannot ask for more than the integer range', async () => {
  const product = await createProduct(t.api);
  const adjust = await t.api.post(`/api/v1/products/${product.id}/inventory/adjustments`, { delta: INT_MAX + 1, reason: 'too much' });
  expect(adjust.status).toBe(422);
  const set = await t.api.put(`/api/v1/products/${product.id}/inventory`, { onHand: INT_MAX + 1 });
  expect(set.status).toBe(422);
  const expected = await t.api.put(`/api/v1/products/${product.id}/inventory`, { onHand: 1, expectedOnHand: INT_MAX + 1 });
  expect(expected.status).toBe(422);
});

test('repeated +1e9 adjustments: the one past the integer range is 409 and changes nothing', async () => {
  const product = await createProduct(t.api, { initialStock: 1_000_000_000 });
  const path = `/api/v1/products/${product.id}/inventory/adjustments`;
  expect((await t.api.post(path, { delta: 1_000_000_000, reason: 'delivery' })).status).toBe(200);
  const before = await level(product.id);
  const over = await t.api.post(path, { delta: 1_000_000_000, reason: 'delivery' });
  expect(over.status).toBe(409);
  expect(over.headers.get('content-type')).toBe('application/problem+json');
  expect(await level(product.id)).toEqual(before);
});

test('the adjustment past the range fails alone: adjustments in the same moment succeed', async () => {
  const product = await createProduct(t.api, { initialStock: 1_000_000_000 });
  const path = `/api/v1/products/${product.id}/inventory/adjustments`;
  await t.api.post(path, { delta: 1_000_000_000, reason: 'delivery' });
  const replies = await Promise.all([
    t.api.post(path, { delta: 1, reason: 'found one' }),
    t.api.post(path, { delta: 1_000_000_000, reason: 'too much' }),
    t.api.post(path, { delta: 1, reason: 'found one' }),
    t.api.post(path, { delta: -1, reason: 'broken' }),
  ]);
  expect(replies.map((r) => r.status)).toEqual([200, 409, 200, 200]);
  expect((await level(product.id)).onHand).toBe(2_000_000_001);
});

test('setting the count is bounded the same way', async () => {
  const product = await createProduct(t.api, { initialStock: 0 });
  expect((await t.api.put(`/api/v1/products/${product.id}/inventory`, { onHand: 1_000_000_000 })).status).toBe(200);
  const path = `/api/v1/products/${product.id}/inventory/adjustments`;
  expect((await t.api.post(path, { delta: 1_000_000_000, reason: 'delivery' })).status).toBe(200);
  expect((await t.api.post(path, { delta: 1_000_000_000, reason: 'delivery' })).status).toBe(409);
  expect((await level(product.id)).onHand).toBe(2_000_000_000);
});
