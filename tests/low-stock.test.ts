import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createProduct, startTestService, type TestService } from './support/service.ts';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(() => t.close());

describe('low-stock thresholds on products', () => {
  test('set on create and PATCH, shown on Product, null turns it off, a negative one is 422', async () => {
    const product = await createProduct(t.api, { initialStock: 10, lowStockThreshold: 3 });
    expect(product.lowStockThreshold).toBe(3);
    expect((await createProduct(t.api)).lowStockThreshold).toBeNull();
    const patched = await t.api.patch(`/api/v1/products/${product.id}`, { lowStockThreshold: 12 });
    expect(patched.status).toBe(200);
    expect(patched.body.lowStockThreshold).toBe(12);
    expect((await t.api.get(`/api/v1/products/${product.id}`, 'anonymous')).body.lowStockThreshold).toBe(12);
    const off = await t.api.patch(`/api/v1/products/${product.id}`, { lowStockThreshold: null });
    expect(off.body.lowStockThreshold).toBeNull();
    const negative = await t.api.patch(`/api/v1/products/${product.id}`, { lowStockThreshold: -1 });
    expect(negative.status).toBe(422);
    expect(negative.body.errors[0].path).toBe('body.lowStockThreshold');
    const fraction = await t.api.post('/api/v1/products', { sku: 'LOW-FRACTION', name: 'x', price: '1.00', lowStockThreshold: 1.5 });
    expect(fraction.status).toBe(422);
  });

  test('?lowStock=true lists the products whose available is at or below their threshold', async () => {
    const tag = `LOWQ${Date.now().toString(36)}`.toUpperCase();
    const at = await createProduct(t.api, { sku: `${tag}-AT`, initialStock: 5, lowStockThreshold: 5 });
    const below = await createProduct(t.api, { sku: `${tag}-BELOW`, initialStock: 0, lowStockThreshold: 2 });
    const above = await createProduct(t.api, { sku: `${tag}-ABOVE`, initialStock: 6, lowStockThreshold: 5 });
    await createProduct(t.api, { sku: `${tag}-NONE`, initialStock: 0 });
    const low = await t.api.get(`/api/v1/products?lowStock=true&q=${tag}`, 'anonymous');
    expect(low.status).toBe(200);
    expect(low.body.items.map((p: { id: string }) => p.id).sort()).toEqual([at.id, below.id].sort());
    // Stock that moves changes the answer: one unit less puts the product above at its threshold.
    await t.api.post(`/api/v1/products/${above.id}/inventory/adjustments`, { delta: -1, reason: 'damaged' });
    expect((await t.api.get(`/api/v1/products?lowStock=true&q=${tag}`, 'anonymous')).body.items).toHaveLength(3);
    const all = await t.api.get(`/api/v1/products?lowStock=false&q=${tag}`, 'anonymous');
    expect(all.body.items).toHaveLength(4);
    expect((await t.api.get('/api/v1/products?lowStock=maybe', 'anonymous')).status).toBe(422);
  });
});
