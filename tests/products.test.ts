import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { insertOrderRow } from './support/orders.ts';
import { createProduct, startTestService, uniqueSku, type TestService } from './support/service.ts';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(() => t.close());

const base = '/api/v1/products';

describe('products', () => {
  test('create returns the product with its stock, price normalised to two places', async () => {
    const sku = uniqueSku('TEE');
    const reply = await t.api.post(base, { sku, name: 'T-shirt', description: 'Red', price: '19.9', initialStock: 12 });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({
      sku,
      name: 'T-shirt',
      description: 'Red',
      price: '19.90',
      archived: false,
      categories: [],
      inventory: { onHand: 12, reserved: 0, available: 12 },
    });
    expect(new Date(reply.body.createdAt).toISOString()).toBe(reply.body.createdAt);
    const [row] = await t.db.sql`SELECT sum(delta)::int AS total FROM stock_movements WHERE product_id = ${reply.body.id}`;
    expect(row!.total).toBe(12);
    expect((await t.api.get(`${base}/${reply.body.id}`, 'anonymous')).body).toEqual(reply.body);
  });

  test('a SKU already used in any case is a conflict', async () => {
    const sku = uniqueSku('dup');
    await createProduct(t.api, { sku });
    const reply = await t.api.post(base, { sku: sku.toLowerCase(), name: 'Other', price: '1.00' });
    expect(reply.status).toBe(409);
    expect(reply.headers.get('content-type')).toContain('application/problem+json');
    expect(reply.body.detail).toContain('already used');
  });

  test('20 parallel creates of one SKU: exactly one 201, the rest 409, one row', async () => {
    const sku = uniqueSku('race');
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.api.post(base, { sku: i % 2 ? sku : sku.toLowerCase(), name: `N${i}`, price: '1.00', initialStock: 5 })),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const [row] = await t.db.sql`SELECT count(*)::int AS n FROM products WHERE lower(sku) = lower(${sku})`;
    expect(row!.n).toBe(1);
    const [movements] = await t.db.sql`
      SELECT count(*)::int AS n FROM stock_movements m JOIN products p ON p.id = m.product_id WHERE lower(p.sku) = lower(${sku})`;
    expect(movements!.n).toBe(1);
  });

  test('invalid bodies are 422 with one entry per field, and change nothing', async () => {
    const before = await t.db.sql`SELECT count(*)::int AS n FROM products`;
    const reply = await t.api.post(base, { sku: 'bad sku!', name: '', price: '1.234', initialStock: -1 });
    expect(reply.status).toBe(422);
    const paths = reply.body.errors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual(['body.initialStock', 'body.name', 'body.price', 'body.sku']);
    const missing = await t.api.post(base, { name: 'x' });
    expect(missing.status).toBe(422);
    expect(missing.body.errors).toContainEqual({ path: 'body.sku', message: 'is required' });
    const numericPrice = await t.api.post(base, { sku: uniqueSku(), name: 'x', price: 5 });
    expect(numericPrice.status).toBe(422);
    const stringStock = await t.api.post(base, { sku: uniqueSku(), name: 'x', price: '5', initialStock: '5' });
    expect(stringStock.status).toBe(422);
    expect((await t.db.sql`SELECT count(*)::int AS n FROM products`)[0]!.n).toBe(before[0]!.n);
  });

  test('fields the client may not set are not applied', async () => {
    const reply = await t.api.post(base, { sku: uniqueSku(), name: 'x', price: '2.00', id: '00000000-0000-0000-0000-000000000000', archived: true, inventory: { reserved: 5 } });
    expect(reply.status).toBe(201);
    expect(reply.body.id).not.toBe('00000000-0000-0000-0000-000000000000');
    expect(reply.body.archived).toBe(false);
    expect(reply.body.inventory.reserved).toBe(0);
  });

  test('patch changes name, description and price only', async () => {
    const product = await createProduct(t.api, { price: '3.00' });
    const reply = await t.api.patch(`${base}/${product.id}`, { name: 'Renamed', price: '4.5', sku: 'IGNORED' });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ name: 'Renamed', price: '4.50', sku: product.sku });
    expect(Date.parse(reply.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(product.updatedAt));
    expect((await t.api.patch(`${base}/${product.id}`, {})).status).toBe(422);
    expect((await t.api.patch(`${base}/01900000-0000-7000-8000-000000000000`, { name: 'x' })).status).toBe(404);
  });

  test('unknown id is 404, malformed id is 422', async () => {
    expect((await t.api.get(`${base}/01900000-0000-7000-8000-000000000000`)).status).toBe(404);
    const malformed = await t.api.get(`${base}/not-a-uuid`);
    expect(malformed.status).toBe(422);
    expect(malformed.body.errors[0].path).toBe('params.id');
  });

  test('list pages with a cursor and filters by q on name or SKU', async () => {
    const tag = uniqueSku('PAGE');
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await createProduct(t.api, { sku: `${tag}-${i}`, name: `Paged widget ${i}` }));
    await createProduct(t.api, { name: `Gadget ${tag.toLowerCase()}` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?q=${encodeURIComponent(tag.toLowerCase())}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await t.api.get(`${base}${query}`, 'anonymous');
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((p: { id: string }) => p.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
    expect(seen).toEqual(expect.arrayContaining(created.map((p) => p.id)));
    const wildcard = await t.api.get(`${base}?q=%25`, 'anonymous');
    expect(wildcard.body.items).toHaveLength(0);
  });

  test('list rejects bad limits and cursors with 422', async () => {
    expect((await t.api.get(`${base}?limit=0`)).status).toBe(422);
    expect((await t.api.get(`${base}?limit=201`)).status).toBe(422);
    expect((await t.api.get(`${base}?limit=abc`)).status).toBe(422);
    const cursor = await t.api.get(`${base}?cursor=garbage`);
    expect(cursor.status).toBe(422);
    expect(cursor.body.errors[0].path).toBe('query.cursor');
  });

  test('delete erases a product that no order refers to', async () => {
    const product = await createProduct(t.api, { initialStock: 3 });
    expect((await t.api.delete(`${base}/${product.id}`)).status).toBe(204);
    expect((await t.api.get(`${base}/${product.id}`)).status).toBe(404);
    const [row] = await t.db.sql`SELECT count(*)::int AS n FROM stock_movements WHERE product_id = ${product.id}`;
    expect(row!.n).toBe(0);
    expect((await t.api.delete(`${base}/${product.id}`)).status).toBe(404);
  });

  test('delete archives a product that orders refer to; its orders keep their items', async () => {
    const product = await createProduct(t.api, { initialStock: 3 });
    const orderId = await insertOrderRow(t.db.sql, product.id, { status: 'failed' });
    expect((await t.api.delete(`${base}/${product.id}`)).status).toBe(204);
    const archived = await t.api.get(`${base}/${product.id}`);
    expect(archived.status).toBe(200);
    expect(archived.body.archived).toBe(true);
    const listed = await t.api.get(`${base}?q=${product.sku}`);
    expect(listed.body.items).toHaveLength(0);
    const withArchived = await t.api.get(`${base}?q=${product.sku}&includeArchived=true`);
    expect(withArchived.body.items.map((p: { id: string }) => p.id)).toEqual([product.id]);
    expect((await t.api.delete(`${base}/${product.id}`)).status).toBe(204);
    const order = await t.api.get(`/api/v1/orders/${orderId}`, 'client');
    expect(order.body.items).toMatchObject([{ productId: product.id, quantity: 1, unitPrice: '1.00' }]);
  });

  test('delete of a product with stock reserved by open orders is a conflict', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    await t.db.sql`UPDATE inventory_levels SET reserved = 2 WHERE product_id = ${product.id}`;
    const reply = await t.api.delete(`${base}/${product.id}`);
    expect(reply.status).toBe(409);
    expect((await t.api.get(`${base}/${product.id}`)).body.archived).toBe(false);
  });
});
