import { Elysia, t } from 'elysia';
import { errors, IdParams, Page } from '../../http/models.ts';
import { Product, ProductCategoriesBody, ProductCreate, ProductListQuery, ProductPatch } from './products.models.ts';
import type { ProductsService } from './products.service.ts';

export function productsRoutes(products: ProductsService) {
  return new Elysia({ prefix: '/api/v1/products', tags: ['Products'] })
    .post('', async ({ body, status }) => status(201, await products.create(body)), {
      parse: 'json',
      body: ProductCreate,
      response: { 201: Product, ...errors(400, 401, 403, 409, 413, 422, 503) },
      detail: {
        summary: 'Create a product',
        description: 'SKUs are unique regardless of case (409). `initialStock` is recorded in the ledger as an "initial" movement.',
      },
    })
    .get('', ({ query }) => products.list(query), {
      query: ProductListQuery,
      response: { 200: Page(Product), ...errors(422, 503) },
      detail: {
        summary: 'List products',
        description:
          'Filter by `q` (name or SKU), `categoryId`, and `lowStock=true` (available at or below the product\'s `lowStockThreshold`); archived products are left out unless `includeArchived=true`.',
      },
    })
    .get('/:id', ({ params }) => products.get(params.id), {
      params: IdParams,
      response: { 200: Product, ...errors(404, 422) },
      detail: { summary: 'Get a product' },
    })
    .patch('/:id', ({ params, body }) => products.update(params.id, body), {
      params: IdParams,
      parse: 'json',
      body: ProductPatch,
      response: { 200: Product, ...errors(400, 401, 403, 404, 413, 422, 503) },
      detail: {
        summary: 'Update name, description, price or low-stock threshold',
        description: 'Orders keep the unit price they were accepted with. `lowStockThreshold: null` turns the alert off.',
      },
    })
    .delete(
      '/:id',
      async ({ params, status }) => {
        await products.remove(params.id);
        return status(204, undefined);
      },
      {
        params: IdParams,
        response: { 204: t.Void({ description: 'Deleted, or archived when orders refer to it' }), ...errors(401, 403, 404, 409, 422) },
        detail: {
          summary: 'Delete (or archive) a product',
          description:
            'A product that orders refer to is archived, not erased: its orders keep working and it can no longer be ordered. Stock reserved by open orders → 409.',
        },
      },
    )
    .put('/:id/categories', ({ params, body }) => products.setCategories(params.id, body.categoryIds), {
      params: IdParams,
      parse: 'json',
      body: ProductCategoriesBody,
      response: { 200: Product, ...errors(400, 401, 403, 404, 413, 422, 503) },
      detail: { summary: "Replace a product's categories" },
    });
}
