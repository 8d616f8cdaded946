import { Elysia } from 'elysia';
import { errors } from '../../src/http/models.ts';
import { Order, OrderCreate } from '../../src/modules/orders/orders.models.ts';
import { acceptanceView } from '../../src/modules/orders/views.ts';

/**
 * The ceiling: the same HTTP shell, token check, body validation and response schema as
 * `POST /api/v1/orders`, and then a 202 without touching the database. Every other figure of the
 * bench can be read as a share of what this allows on the same machine with the same load generator.
 */
/** The 202 of an order accepted at once, stored nowhere (the ceiling and framework routes). */
export function acceptedWithoutDatabase(body: OrderCreate) {
  const createdAt = new Date().toISOString();
  const items = body.items.map((item) => ({ ...item, unitPrice: '0.00' }));
  const facts = { id: Bun.randomUUIDv7(), customerId: body.customerId, total: '0.00', items, createdAt };
  return acceptanceView({ facts, status: 'reserved', allocations: null, version: 1, attempts: 0, lastError: null, nextAttemptInMs: null });
}

export function ceilingRoutes() {
  return new Elysia({ prefix: '/bench/ceiling' }).post(
    '/orders',
    ({ body, status }) => status(202, acceptedWithoutDatabase(body)),
    {
      parse: 'json',
      body: OrderCreate,
      response: { 202: Order, ...errors(400, 401, 403, 413, 422) },
      detail: { hide: true },
    },
  );
}
