import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createProduct, startTestService, uniqueSku, type TestService } from './support/service.ts';

let t: TestService;
beforeAll(async () => {
  t = await startTestService();
});
afterAll(() => t.close());

const base = '/api/v1/categories';
const createCategory = async (name: string) => {
  const reply = await t.api.post(base, { name });
  expect(reply.status).toBe(201);
  return reply.body as { id: string; name: string };
};

describe('categories', () => {
  test('create, read, rename; names are unique regardless of case', async () => {
    const name = uniqueSku('Shoes');
    const category = await createCategory(name);
    expect(category).toMatchObject({ name });
    expect((await t.api.get(`${base}/${category.id}`, 'anonymous')).body).toEqual(category);
    expect((await t.api.post(base, { name: name.toLowerCase() })).status).toBe(409);
    const renamed = await t.api.patch(`${base}/${category.id}`, { name: `${name} & boots` });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe(`${name} & boots`);
    const other = await createCategory(uniqueSku('Hats'));
    expect((await t.api.patch(`${base}/${other.id}`, { name: `${name} & BOOTS` })).status).toBe(409);
    expect((await t.api.post(base, { name: '   ' })).status).toBe(422);
    expect((await t.api.get(`${base}/01900000-0000-7000-8000-000000000000`)).status).toBe(404);
  });

  test('list is sorted by name and pages with a cursor', async () => {
    const prefix = uniqueSku('zz-list');
    for (const suffix of ['c', 'A', 'b', 'D']) await createCategory(`${prefix}-${suffix}`);
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { name: string }[]; nextCursor: string | null } } = await t.api.get(`${base}?limit=3${cursor ? `&cursor=${cursor}` : ''}`, 'anonymous');
      names.push(...page.body.items.map((c: { name: string }) => c.name));
      cursor = page.body.nextCursor;
    } while (cursor);
    const ours = names.filter((n) => n.startsWith(prefix));
    expect(ours).toEqual([`${prefix}-A`, `${prefix}-b`, `${prefix}-c`, `${prefix}-D`]);
  });

  test('products take categories at creation and by replacement; filter and category listing agree', async () => {
    const shoes = await createCategory(uniqueSku('Footwear'));
    const sale = await createCategory(uniqueSku('Sale'));
    const boot = await createProduct(t.api, { name: 'Boot', categoryIds: [shoes.id] });
    expect(boot.categories).toEqual([{ id: shoes.id, name: shoes.name }]);
    const sandal = await createProduct(t.api, { name: 'Sandal' });
    const replaced = await t.api.put(`/api/v1/products/${sandal.id}/categories`, { categoryIds: [shoes.id, sale.id] });
    expect(replaced.status).toBe(200);
    expect(replaced.body.categories.map((c: { id: string }) => c.id).sort()).toEqual([shoes.id, sale.id].sort());

    const inShoes = await t.api.get(`${base}/${shoes.id}/products`, 'anonymous');
    expect(inShoes.body.items.map((p: { id: string }) => p.id).sort()).toEqual([boot.id, sandal.id].sort());
    const filtered = await t.api.get(`/api/v1/products?categoryId=${sale.id}`, 'anonymous');
    expect(filtered.body.items.map((p: { id: string }) => p.id)).toEqual([sandal.id]);

    const cleared = await t.api.put(`/api/v1/products/${sandal.id}/categories`, { categoryIds: [] });
    expect(cleared.body.categories).toEqual([]);
  });

  test('unknown category ids are 422 and change nothing', async () => {
    const product = await createProduct(t.api);
    const missing = '01900000-0000-7000-8000-000000000000';
    const onCreate = await t.api.post('/api/v1/products', { sku: uniqueSku(), name: 'x', price: '1.00', categoryIds: [missing] });
    expect(onCreate.status).toBe(422);
    expect(onCreate.body.errors).toEqual([{ path: 'body.categoryIds[0]', message: 'is not an existing category' }]);
    const onReplace = await t.api.put(`/api/v1/products/${product.id}/categories`, { categoryIds: [missing] });
    expect(onReplace.status).toBe(422);
    expect((await t.api.get(`${base}/${missing}/products`)).status).toBe(404);
  });

  test('deleting a category removes it from products and nothing else', async () => {
    const doomed = await createCategory(uniqueSku('Doomed'));
    const product = await createProduct(t.api, { categoryIds: [doomed.id], initialStock: 4 });
    expect((await t.api.delete(`${base}/${doomed.id}`)).status).toBe(204);
    const after = await t.api.get(`/api/v1/products/${product.id}`);
    expect(after.body.categories).toEqual([]);
    expect(after.body).toMatchObject({ name: product.name, price: product.price, updatedAt: product.updatedAt, inventory: { onHand: 4 } });
    expect((await t.api.delete(`${base}/${doomed.id}`)).status).toBe(404);
  });

  test('writes need the admin token', async () => {
    expect((await t.api.post(base, { name: 'x' }, 'client')).status).toBe(403);
    expect((await t.api.post(base, { name: 'x' }, 'anonymous')).status).toBe(401);
  });
});
