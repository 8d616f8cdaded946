import { createRequire } from 'node:module';
import path from 'node:path';
import { openapi } from '@elysiajs/openapi';
import { FormatRegistry } from '@sinclair/typebox';
import { Elysia } from 'elysia';
import { notFound } from '../lib/errors.ts';
import { isUuid } from '../lib/paging.ts';

// Importing @elysiajs/openapi replaces TypeBox's "uuid" format check with one that builds and runs a
// Zod schema on every call (its bundled typemap registers Zod-backed formats globally). That made
// validating an order several times slower; this puts a plain pattern back.
FormatRegistry.Set('uuid', isUuid);

const require = createRequire(import.meta.url);
const assetsDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
/** Swagger UI is served from node_modules, so the docs render with no internet access. */
const ASSETS = new Set(['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png', 'favicon-16x16.png']);

export function docs(version: string) {
  return new Elysia({ name: 'docs' })
    .get(
      '/swagger/assets/:file',
      ({ params }) => {
        if (!ASSETS.has(params.file)) throw notFound(`asset ${params.file}`);
        return Bun.file(path.join(assetsDir, params.file));
      },
      { detail: { hide: true } },
    )
    .use(
      openapi({
        path: '/swagger',
        specPath: '/swagger/json',
        provider: 'swagger-ui',
        swagger: {
          cdn: '/swagger/assets/swagger-ui-bundle.js',
          theme: '/swagger/assets/swagger-ui.css',
          validatorUrl: 'none',
          persistAuthorization: false,
        },
        exclude: { paths: [/^\/swagger/] },
        documentation: {
          info: {
            title: 'Stockroom: inventory and order service',
            version,
            description:
              'Catalog, stock and orders on PostgreSQL. Errors are RFC 9457 problem details (`application/problem+json`). Authenticate with `Authorization: Bearer <token>`: `ADMIN_TOKEN`, `CLIENT_TOKEN`, an API key (`sr_live_…`, roles `admin`, `storefront`, `warehouse`, `read-only`) or a customer token (a JWT). Each operation lists the roles it is open to in `x-allowed-roles`; `GET /api/v1/me` tells a credential its own. Responses carry `RateLimit-Policy` and `RateLimit` (IETF httpapi draft); over the limit: 429 with `Retry-After`.',
          },
          components: {
            securitySchemes: {
              bearer: {
                type: 'http',
                scheme: 'bearer',
                description: '`ADMIN_TOKEN` (role admin), `CLIENT_TOKEN` (role storefront), or an API key from `POST /api/v1/api-keys` (`sr_live_…`).',
              },
              customerToken: {
                type: 'http',
                scheme: 'bearer',
                bearerFormat: 'JWT',
                description:
                  'A JWT signed by the shop for one customer: `sub` = the customer id, `exp` required; HS256 with `CUSTOMER_JWT_SECRET` or RS256/ES256/EdDSA from `CUSTOMER_JWKS_URL`. Places, reads and cancels that customer\'s orders only; its event stream carries only them.',
              },
            },
          },
          tags: [
            { name: 'Products', description: 'The catalog' },
            { name: 'Inventory', description: 'Stock levels and their ledger' },
            { name: 'Categories', description: 'Product categories (added by migration 0001)' },
            { name: 'Locations', description: 'Where stock is kept: warehouses and stores, each with its own counts (migration 0007)' },
            { name: 'Transfers', description: 'Stock moving between locations: out of the source now, incoming at the destination until received' },
            { name: 'Orders', description: 'Order intake and life cycle' },
            { name: 'Operations', description: 'Health, metrics, events, warehouse' },
            { name: 'Credentials', description: 'API keys and the caller\'s own credential' },
            { name: 'Webhooks', description: 'Signed, retried deliveries of order, inventory and sync events (Standard Webhooks)' },
          ],
        },
      }),
    );
}
