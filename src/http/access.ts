import type { Role } from './credentials.ts';

/** `anyone`: no credential needed (a credential that is sent must still be valid). */
export type Allowed = Role | 'anyone';

const anyone: Allowed[] = ['anyone'];
const admin: Allowed[] = ['admin'];
/** Catalog writes that a warehouse integration makes. */
const stock: Allowed[] = ['admin', 'warehouse'];
/** Reading and working orders: the storefront's job; a customer token only for its own customer. */
const orderWork: Allowed[] = ['admin', 'storefront', 'customer'];
const orderReads: Allowed[] = ['admin', 'storefront', 'read-only', 'customer'];
/** What a warehouse does with paid orders: ship them, in parts, and take back what returns. */
const shipping: Allowed[] = ['admin', 'warehouse'];

/**
 * Who may call what: every operation of the service, as `METHOD /path` exactly as the route is
 * declared, with the roles allowed (API.md, "Authentication"). The access gate (gate.ts) looks each
 * request up here before its body is read; an operation missing from this table is refused to
 * everyone, and the app does not start with a route that has no entry.
 */
export const accessTable: Record<string, Allowed[]> = {
  // Operations, docs and the dashboard's static files
  'GET /health': anyone,
  'GET /health/live': anyone,
  'GET /swagger': anyone,
  'GET /swagger/json': anyone,
  'GET /swagger/assets/:file': anyone,
  'GET /dashboard': anyone,
  'GET /dashboard/app.js': anyone,
  'GET /dashboard/app.css': anyone,
  // CORS preflights (answered before routing when CORS_ORIGINS is set; they never carry a credential)
  'OPTIONS /': anyone,
  'OPTIONS /*': anyone,
  'GET /metrics': admin,
  'GET /api/v1/me': ['admin', 'storefront', 'warehouse', 'read-only', 'customer'],

  // Catalog
  'POST /api/v1/products': admin,
  'GET /api/v1/products': anyone,
  'GET /api/v1/products/:id': anyone,
  'PATCH /api/v1/products/:id': admin,
  'DELETE /api/v1/products/:id': admin,
  'PUT /api/v1/products/:id/categories': admin,
  'GET /api/v1/products/:id/inventory': anyone,
  'PUT /api/v1/products/:id/inventory': stock,
  'POST /api/v1/products/:id/inventory/adjustments': stock,
  // The ledger of the stock a warehouse key writes (README, "Authentication": a reading of API.md).
  'GET /api/v1/products/:id/inventory/movements': ['admin', 'warehouse', 'read-only'],
  'POST /api/v1/categories': admin,
  'GET /api/v1/categories': anyone,
  'GET /api/v1/categories/:id': anyone,
  'PATCH /api/v1/categories/:id': admin,
  'DELETE /api/v1/categories/:id': admin,
  'GET /api/v1/categories/:id/products': anyone,

  // Locations: read by every integration (a storefront offers pickup at a store), changed by admins;
  // transfers: the warehouse's work, read by read-only keys too
  'POST /api/v1/locations': admin,
  'GET /api/v1/locations': ['admin', 'storefront', 'warehouse', 'read-only'],
  'GET /api/v1/locations/:id': ['admin', 'storefront', 'warehouse', 'read-only'],
  'PATCH /api/v1/locations/:id': admin,
  'DELETE /api/v1/locations/:id': admin,
  'GET /api/v1/locations/:id/inventory': ['admin', 'storefront', 'warehouse', 'read-only'],
  'POST /api/v1/transfers': stock,
  'GET /api/v1/transfers': ['admin', 'warehouse', 'read-only'],
  'GET /api/v1/transfers/:id': ['admin', 'warehouse', 'read-only'],
  'POST /api/v1/transfers/:id/receive': stock,
  'POST /api/v1/transfers/:id/cancel': stock,

  // Orders (a customer token: only its own customer's orders; the routes enforce that)
  'POST /api/v1/orders': orderWork,
  'GET /api/v1/orders': orderReads,
  'GET /api/v1/orders/counts': ['admin', 'storefront', 'read-only'],
  // A warehouse reads the order it ships (API.md: client, warehouse).
  'GET /api/v1/orders/:id': [...orderReads, 'warehouse'],
  'GET /api/v1/orders/:id/logs': orderReads,
  'POST /api/v1/orders/:id/cancel': orderWork,
  'POST /api/v1/orders/:id/ship': shipping,
  'POST /api/v1/orders/:id/fulfilments': shipping,
  'POST /api/v1/orders/:id/returns': shipping,
  'GET /api/v1/events': orderReads,

  // Holds: the storefront's, like orders (a customer token: only its own customer's holds; the routes enforce that)
  'POST /api/v1/holds': orderWork,
  'GET /api/v1/holds': orderReads,
  'GET /api/v1/holds/:id': orderReads,
  'POST /api/v1/holds/:id/extend': orderWork,
  'DELETE /api/v1/holds/:id': orderWork,

  // Warehouse
  'POST /api/v1/warehouse/sync': stock,
  'GET /api/v1/warehouse/syncs': ['admin', 'warehouse', 'read-only'],

  // Credentials and webhooks: admin only, reads included
  'POST /api/v1/api-keys': admin,
  'GET /api/v1/api-keys': admin,
  'DELETE /api/v1/api-keys/:id': admin,
  'POST /api/v1/webhooks': admin,
  'GET /api/v1/webhooks': admin,
  'GET /api/v1/webhooks/:id': admin,
  'PATCH /api/v1/webhooks/:id': admin,
  'DELETE /api/v1/webhooks/:id': admin,
  'POST /api/v1/webhooks/:id/rotate-secret': admin,
  'GET /api/v1/webhooks/:id/deliveries': admin,
  'POST /api/v1/webhooks/:id/deliveries/:deliveryId/redeliver': admin,
  'POST /api/v1/webhooks/:id/replay': admin,

  // Bench-only routes (bench/routes, mounted by `bun run bench` only)
  'POST /bench/ceiling/orders': ['admin', 'storefront'],
  'POST /bench/naive/orders': ['admin', 'storefront'],
  'GET /bench/stats': admin,
};

export const operationKey = (method: string, path: string) => `${method} ${path}`;

/** The roles allowed to call an operation; `undefined` for an operation nobody may call. */
export const allowedFor = (method: string, path: string): Allowed[] | undefined => accessTable[operationKey(method, path)];

/** Every API operation a role may call, including the public ones (the dashboard shows what these allow). */
export const operationsFor = (role: Role): string[] =>
  Object.entries(accessTable)
    .filter(([operation, allowed]) => / \/(api\/|metrics$)/.test(operation) && (allowed.includes(role) || allowed.includes('anyone')))
    .map(([operation]) => operation);

type RouteInfo = { method: string; path: string; hooks: { detail?: Record<string, unknown> } };

/**
 * At start: every route must have its entry in the table (no route is open by omission), and the
 * OpenAPI document says who may call each operation (`security`, `x-allowed-roles`), from the table.
 */
export function checkAccess(routes: RouteInfo[]) {
  const missing = routes.filter((route) => !allowedFor(route.method, route.path)).map((route) => operationKey(route.method, route.path));
  if (missing.length > 0) throw new Error(`routes without an entry in the access table (src/http/access.ts): ${missing.join(', ')}`);
  for (const route of routes) {
    const allowed = allowedFor(route.method, route.path)!;
    if (allowed.includes('anyone')) continue;
    const security = allowed.includes('customer') ? [{ bearer: [] }, { customerToken: [] }] : [{ bearer: [] }];
    route.hooks.detail = { ...route.hooks.detail, security, 'x-allowed-roles': allowed };
  }
}
