import { Elysia, t } from 'elysia';
import { errors, IdParams, Page } from '../../http/models.ts';
import { Product, ProductListQuery } from '../products/products.models.ts';
import type { ProductsService } from '../products/products.service.ts';
import { Category, CategoryBody, CategoryListQuery } from './categories.models.ts';
import type { CategoriesService } from './categories.service.ts';

const { categoryId: _unused, ...productPageQuery } = ProductListQuery.properties;

export function categoriesRoutes(categories: CategoriesService, products: ProductsService) {
  return new Elysia({ prefix: '/api/v1/categories', tags: ['Categories'] })
    .post('', async ({ body, status }) => status(201, await categories.create(body.name)), {
      parse: 'json',
      body: CategoryBody,
      response: { 201: Category, ...errors(400, 401, 403, 409, 413, 422, 503) },
      detail: { summary: 'Create a category', description: 'Names are unique regardless of case (409).' },
    })
    .get('', ({ query }) => categories.list(query), {
      query: CategoryListQuery,
      response: { 200: Page(Category), ...errors(422, 503) },
      detail: { summary: 'List categories', description: 'Sorted by name.' },
    })
    .get('/:id', ({ params }) => categories.get(params.id), {
      params: IdParams,
      response: { 200: Category, ...errors(404, 422, 503) },
      detail: { summary: 'Get a category' },
    })
    .patch('/:id', ({ params, body }) => categories.rename(params.id, body.name), {
      params: IdParams,
      parse: 'json',
      body: CategoryBody,
      response: { 200: Category, ...errors(400, 401, 403, 404, 409, 413, 422, 503) },
      detail: { summary: 'Rename a category' },
    })
    .delete(
      '/:id',
      async ({ params, status }) => {
        await categories.remove(params.id);
        return status(204, undefined);
      },
      {
        params: IdParams,
        response: { 204: t.Void({ description: 'Deleted' }), ...errors(401, 403, 404, 422, 503) },
        detail: { summary: 'Delete a category', description: 'Products lose the category; nothing else changes.' },
      },
    )
    .get(
      '/:id/products',
      async ({ params, query }) => {
        await categories.get(params.id);
        return products.list({ ...query, categoryId: params.id });
      },
      {
        params: IdParams,
        query: t.Object(productPageQuery),
        response: { 200: Page(Product), ...errors(404, 422, 503) },
        detail: { summary: 'List the products of a category' },
      },
    );
}
