import { Elysia } from 'elysia';
import { Order, OrderCreate } from '../../src/modules/orders/orders.models.ts';
import { acceptedWithoutDatabase } from './ceiling.ts';

/**
 * The framework alone: a bare Elysia app on a port of its own, in the same process as the service,
 * with the same body schema and response schema as `POST /api/v1/orders` and the ceiling route's
 * handler, and nothing else (no hooks, no token, no request ids, no deadlines). The ceiling route
 * ÷ this route is what the service's HTTP shell costs.
 */
export function frameworkApp() {
  return new Elysia().post('/bench/framework/orders', ({ body, status }) => status(202, acceptedWithoutDatabase(body)), {
    parse: 'json',
    body: OrderCreate,
    response: { 202: Order },
  });
}
