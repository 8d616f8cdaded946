import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createKey, customerSecret, customerToken } from './support/credentials.ts';
import { placeHold } from './support/holds.ts';
import { createProduct, placeOrder, startTestService, tokens, type TestService } from './support/service.ts';

/**
 * Every operation of /swagger/json, called by every kind of caller, against the answer API.md
 * gives ("Authentication" and "Operations"). The expectations are written out here, not read from
 * the service's own access table, so a wrong entry there fails this test; and an operation that
 * appears in /swagger/json without a row here fails it too.
 *
 *   Y  let in (anything but 401/403)    F  403    U  401    H  404 (another customer's order)
 */
type Expect = 'Y' | 'F' | 'U' | 'H';
const callers = ['ADMIN_TOKEN', 'CLIENT_TOKEN', 'admin key', 'storefront key', 'warehouse key', 'read-only key', 'other customer', 'anonymous'] as const;
type Caller = (typeof callers)[number];

/** `{product}`, `{category}`, `{order}`, `{location}`, `{hold}`: rows that exist; `{missing}`: an id that does not (for writes that would destroy). */
type Row = { op: string; path: string; body?: () => unknown; expect: string };
const n = () => Math.random().toString(36).slice(2, 10);

//                                                                                          ADMIN CLIENT admin store wareh read  cust  anon
const rows: Row[] = [
  { op: 'GET /health', path: '/health', expect:                                             'Y     Y      Y     Y     Y     Y     Y     Y' },
  { op: 'GET /health/live', path: '/health/live', expect:                                   'Y     Y      Y     Y     Y     Y     Y     Y' },
  { op: 'GET /metrics', path: '/metrics', expect:                                           'Y     F      Y     F     F     F     F     U' },
  { op: 'GET /api/v1/me', path: '/api/v1/me', expect:                                       'Y     Y      Y     Y     Y     Y     Y     U' },
  { op: 'POST /api/v1/products', path: '/api/v1/products', body: () => ({ sku: `M-${n()}`, name: 'x', price: '1.00' }), expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
  { op: 'GET /api/v1/products', path: '/api/v1/products', expect:                           'Y     Y      Y     Y     Y     Y     Y     Y' },
  { op: 'GET /api/v1/products/{id}', path: '/api/v1/products/{product}', expect:            'Y     Y      Y     Y     Y     Y     Y     Y' },
  { op: 'PATCH /api/v1/products/{id}', path: '/api/v1/products/{missing}', body: () => ({ name: 'x' }), expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
  { op: 'DELETE /api/v1/products/{id}', path: '/api/v1/products/{missing}', expect:         'Y     F      Y     F     F     F     F     U' },
  { op: 'PUT /api/v1/products/{id}/categories', path: '/api/v1/products/{missing}/categories', body: () => ({ categoryIds: [] }), expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
  { op: 'GET /api/v1/products/{id}/inventory', path: '/api/v1/products/{product}/inventory', expect:
                                                                                            'Y     Y      Y     Y     Y     Y     Y     Y' },
  { op: 'PUT /api/v1/products/{id}/inventory', path: '/api/v1/products/{missing}/inventory', body: () => ({ onHand: 1 }), expect:
                                                                                            'Y     F      Y     F     Y     F     F     U' },
  { op: 'POST /api/v1/products/{id}/inventory/adjustments', path: '/api/v1/products/{missing}/inventory/adjustments', body: () => ({ delta: 1, reason: 'x' }), expect:
                                                                                            'Y     F      Y     F     Y     F     F     U' },
  // The ledger: read-only reads every GET; warehouse keys read the ledger of the stock they write.
  { op: 'GET /api/v1/products/{id}/inventory/movements', path: '/api/v1/products/{product}/inventory/movements', expect:
                                                                                            'Y     F      Y     F     Y     Y     F     U' },
  { op: 'POST /api/v1/categories', path: '/api/v1/categories', body: () => ({ name: `c-${n()}` }), expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
  { op: 'GET /api/v1/categories', path: '/api/v1/categories', expect:                       'Y     Y      Y     Y     Y     Y     Y     Y' },
  { op: 'GET /api/v1/categories/{id}', path: '/api/v1/categories/{category}', expect:       'Y     Y      Y     Y     Y     Y     Y     Y' },
  { op: 'PATCH /api/v1/categories/{id}', path: '/api/v1/categories/{missing}', body: () => ({ name: 'x' }), expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
  { op: 'DELETE /api/v1/categories/{id}', path: '/api/v1/categories/{missing}', expect:     'Y     F      Y     F     F     F     F     U' },
  { op: 'GET /api/v1/categories/{id}/products', path: '/api/v1/categories/{category}/products', expect:
                                                                                            'Y     Y      Y     Y     Y     Y     Y     Y' },
  // Locations: every integration reads them (not customers); admins change them.
  { op: 'POST /api/v1/locations', path: '/api/v1/locations', body: () => ({ code: `M-${n()}`, name: 'Matrix' }), expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
  { op: 'GET /api/v1/locations', path: '/api/v1/locations', expect:                         'Y     Y      Y     Y     Y     Y     F     U' },
  { op: 'GET /api/v1/locations/{id}', path: '/api/v1/locations/{location}', expect:         'Y     Y      Y     Y     Y     Y     F     U' },
  { op: 'PATCH /api/v1/locations/{id}', path: '/api/v1/locations/{missing}', body: () => ({ name: 'x' }), expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
  { op: 'DELETE /api/v1/locations/{id}', path: '/api/v1/locations/{missing}', expect:       'Y     F      Y     F     F     F     F     U' },
  { op: 'GET /api/v1/locations/{id}/inventory', path: '/api/v1/locations/{location}/inventory', expect:
                                                                                            'Y     Y      Y     Y     Y     Y     F     U' },
  // Transfers: the warehouse's work; read-only keys read them.
  { op: 'POST /api/v1/transfers', path: '/api/v1/transfers', body: () => ({ fromLocationId: '{missing}', toLocationId: '{location}', items: [{ productId: '{product}', quantity: 1 }] }), expect:
                                                                                            'Y     F      Y     F     Y     F     F     U' },
  { op: 'GET /api/v1/transfers', path: '/api/v1/transfers', expect:                         'Y     F      Y     F     Y     Y     F     U' },
  { op: 'GET /api/v1/transfers/{id}', path: '/api/v1/transfers/{missing}', expect:          'Y     F      Y     F     Y     Y     F     U' },
  { op: 'POST /api/v1/transfers/{id}/receive', path: '/api/v1/transfers/{missing}/receive', body: () => ({ items: [{ productId: '{product}', quantity: 1 }] }), expect:
                                                                                            'Y     F      Y     F     Y     F     F     U' },
  { op: 'POST /api/v1/transfers/{id}/cancel', path: '/api/v1/transfers/{missing}/cancel', expect:
                                                                                            'Y     F      Y     F     Y     F     F     U' },
  // The customer token is another customer's: it may place orders, but not for customer-a (403).
  { op: 'POST /api/v1/orders', path: '/api/v1/orders', body: () => ({ customerId: 'customer-a', items: [{ productId: '{product}', quantity: 1 }] }), expect:
                                                                                            'Y     Y      Y     Y     F     F     F     U' },
  { op: 'GET /api/v1/orders', path: '/api/v1/orders', expect:                               'Y     Y      Y     Y     F     Y     Y     U' },
  { op: 'GET /api/v1/orders/counts', path: '/api/v1/orders/counts', expect:                 'Y     Y      Y     Y     F     Y     F     U' },
  // A warehouse reads the order it ships.
  { op: 'GET /api/v1/orders/{id}', path: '/api/v1/orders/{order}', expect:                  'Y     Y      Y     Y     Y     Y     H     U' },
  { op: 'GET /api/v1/orders/{id}/logs', path: '/api/v1/orders/{order}/logs', expect:        'Y     Y      Y     Y     F     Y     H     U' },
  { op: 'POST /api/v1/orders/{id}/cancel', path: '/api/v1/orders/{order}/cancel', expect:   'Y     Y      Y     Y     F     F     H     U' },
  // Shipping and returns: admin and warehouse.
  { op: 'POST /api/v1/orders/{id}/ship', path: '/api/v1/orders/{order}/ship', expect:       'Y     F      Y     F     Y     F     F     U' },
  { op: 'POST /api/v1/orders/{id}/fulfilments', path: '/api/v1/orders/{order}/fulfilments', body: () => ({ items: [{ productId: '{product}', quantity: 1 }] }), expect:
                                                                                            'Y     F      Y     F     Y     F     F     U' },
  { op: 'POST /api/v1/orders/{id}/returns', path: '/api/v1/orders/{order}/returns', body: () => ({ items: [{ productId: '{product}', quantity: 1, disposition: 'restock' }] }), expect:
                                                                                            'Y     F      Y     F     Y     F     F     U' },
  { op: 'GET /api/v1/events', path: '/api/v1/events', expect:                               'Y     Y      Y     Y     F     Y     Y     U' },
  // Holds are the storefront's, like orders; `{hold}` is customer-a's (the customer token is another customer's).
  { op: 'POST /api/v1/holds', path: '/api/v1/holds', body: () => ({ customerId: 'customer-a', items: [{ productId: '{stocked}', quantity: 1 }] }), expect:
                                                                                            'Y     Y      Y     Y     F     F     F     U' },
  { op: 'GET /api/v1/holds', path: '/api/v1/holds', expect:                                 'Y     Y      Y     Y     F     Y     Y     U' },
  { op: 'GET /api/v1/holds/{id}', path: '/api/v1/holds/{hold}', expect:                     'Y     Y      Y     Y     F     Y     H     U' },
  { op: 'POST /api/v1/holds/{id}/extend', path: '/api/v1/holds/{hold}/extend', body: () => ({ ttlSeconds: 600 }), expect:
                                                                                            'Y     Y      Y     Y     F     F     H     U' },
  { op: 'DELETE /api/v1/holds/{id}', path: '/api/v1/holds/{hold}', expect:                  'Y     Y      Y     Y     F     F     H     U' },
  { op: 'POST /api/v1/warehouse/sync', path: '/api/v1/warehouse/sync', expect:              'Y     F      Y     F     Y     F     F     U' },
  { op: 'GET /api/v1/warehouse/syncs', path: '/api/v1/warehouse/syncs', expect:             'Y     F      Y     F     Y     Y     F     U' },
  { op: 'POST /api/v1/api-keys', path: '/api/v1/api-keys', body: () => ({ name: 'matrix', role: 'read-only' }), expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
  { op: 'GET /api/v1/api-keys', path: '/api/v1/api-keys', expect:                           'Y     F      Y     F     F     F     F     U' },
  { op: 'DELETE /api/v1/api-keys/{id}', path: '/api/v1/api-keys/{missing}', expect:         'Y     F      Y     F     F     F     F     U' },
  // Webhooks: admin only, their reads included (a read-only key reads every GET but these).
  { op: 'POST /api/v1/webhooks', path: '/api/v1/webhooks', body: () => ({ url: 'https://example.com/hook', events: ['order.created'] }), expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
  { op: 'GET /api/v1/webhooks', path: '/api/v1/webhooks', expect:                           'Y     F      Y     F     F     F     F     U' },
  { op: 'GET /api/v1/webhooks/{id}', path: '/api/v1/webhooks/{missing}', expect:            'Y     F      Y     F     F     F     F     U' },
  { op: 'PATCH /api/v1/webhooks/{id}', path: '/api/v1/webhooks/{missing}', body: () => ({ enabled: false }), expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
  { op: 'DELETE /api/v1/webhooks/{id}', path: '/api/v1/webhooks/{missing}', expect:         'Y     F      Y     F     F     F     F     U' },
  { op: 'POST /api/v1/webhooks/{id}/rotate-secret', path: '/api/v1/webhooks/{missing}/rotate-secret', expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
  { op: 'GET /api/v1/webhooks/{id}/deliveries', path: '/api/v1/webhooks/{missing}/deliveries', expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
  { op: 'POST /api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver', path: '/api/v1/webhooks/{missing}/deliveries/{missing}/redeliver', expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
  { op: 'POST /api/v1/webhooks/{id}/replay', path: '/api/v1/webhooks/{missing}/replay', body: () => ({ sinceEventId: '1-1-0' }), expect:
                                                                                            'Y     F      Y     F     F     F     F     U' },
];

const someId = '01900000-0000-7000-8000-000000000000';
let t: TestService;
let swaggerOps: Set<string>;
const bearer = new Map<Caller, string | undefined>();
const fill = (text: string, ids: Record<string, string>) => text.replace(/\{(product|stocked|category|order|location|hold|missing)\}/g, (_, name: string) => ids[name]!);
let ids: Record<string, string>;

beforeAll(async () => {
  // Quotas high enough for the whole matrix: rate limits have their own tests.
  t = await startTestService({ CUSTOMER_JWT_SECRET: customerSecret, RATE_LIMIT_CUSTOMER: '10000/1s', RATE_LIMIT_ANONYMOUS: '10000/1s' });
  const product = await createProduct(t.api, { initialStock: 0 });
  const category = (await t.api.post('/api/v1/categories', { name: 'Matrix' })).body;
  const order = (await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: 'customer-a' })).body;
  const location = (await t.api.post('/api/v1/locations', { code: 'MATRIX', name: 'Matrix' })).body;
  const stocked = await createProduct(t.api, { initialStock: 100 });
  const hold = (await placeHold(t.api, [{ productId: stocked.id, quantity: 1 }], { customerId: 'customer-a' })).body;
  ids = { product: product.id, stocked: stocked.id, category: category.id, order: order.id, location: location.id, hold: hold.id, missing: someId };
  bearer.set('ADMIN_TOKEN', tokens.admin).set('CLIENT_TOKEN', tokens.client).set('anonymous', undefined);
  for (const role of ['admin', 'storefront', 'warehouse', 'read-only'] as const) bearer.set(`${role} key`, (await createKey(t.api, role)).key);
  bearer.set('other customer', await customerToken('customer-b'));
  const doc = (await t.api.get('/swagger/json', 'anonymous')).body as { paths: Record<string, Record<string, unknown>> };
  swaggerOps = new Set(Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`)));
});
afterAll(() => t.close());

async function call(row: Row, caller: Caller): Promise<number> {
  const [method] = row.op.split(' ');
  const headers: Record<string, string> = {};
  const token = bearer.get(caller);
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (row.body) {
    body = fill(JSON.stringify(row.body()), ids);
    headers['content-type'] = 'application/json';
  }
  const response = await t.service.app.handle(new Request(`http://localhost${fill(row.path, ids)}`, { method, headers, body }));
  await response.body?.cancel(); // the event stream never ends by itself
  return response.status;
}

describe('authorisation matrix', () => {
  test('every operation in /swagger/json has a row here, and every row has its operation', () => {
    const documented = new Set(rows.map((row) => row.op));
    expect([...swaggerOps].filter((op) => !documented.has(op))).toEqual([]);
    expect(rows.filter((row) => !swaggerOps.has(row.op)).map((row) => row.op)).toEqual([]);
  });

  for (const row of rows) {
    test(`${row.op}`, async () => {
      const expected = row.expect.trim().split(/\s+/) as Expect[];
      expect(expected).toHaveLength(callers.length);
      const got: string[] = [];
      const want: string[] = [];
      for (const [i, caller] of callers.entries()) {
        const status = await call(row, caller);
        const outcome: Expect = status === 401 ? 'U' : status === 403 ? 'F' : expected[i] === 'H' && status === 404 ? 'H' : 'Y';
        expect(status).toBeLessThan(500);
        got.push(`${caller}: ${outcome} (${status})`);
        want.push(`${caller}: ${expected[i]} (${outcome === expected[i] ? status : '…'})`);
      }
      expect(got).toEqual(want);
    });
  }

  test('HEAD is judged as the GET it answers', async () => {
    const head = async (path: string, token?: string) =>
      (await t.service.app.handle(new Request(`http://localhost${path}`, { method: 'HEAD', headers: token ? { authorization: `Bearer ${token}` } : {} }))).status;
    expect(await head('/api/v1/products')).toBe(200);
    expect(await head('/api/v1/orders')).toBe(401);
    expect(await head('/api/v1/orders', bearer.get('warehouse key'))).toBe(403);
    expect(await head('/api/v1/orders', tokens.client)).toBe(200);
  });
});
