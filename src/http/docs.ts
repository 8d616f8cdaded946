import { createRequire } from 'node:module';
import path from 'node:path';
import { openapi } from '@elysiajs/openapi';
import { FormatRegistry } from '@sinclair/typebox';
import { Elysia } from 'elysia';
import { notFound } from './errors.ts';
import { isUuid } from './models.ts';

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
              'Catalog, stock and orders on PostgreSQL. Errors are RFC 9457 problem details (`application/problem+json`). Authenticate with `Authorization: Bearer <ADMIN_TOKEN or CLIENT_TOKEN>`.',
          },
          components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
          tags: [
            { name: 'Products', description: 'The catalog' },
            { name: 'Inventory', description: 'Stock levels and their ledger' },
            { name: 'Categories', description: 'Product categories (added by migration 0001)' },
            { name: 'Orders', description: 'Order intake and life cycle' },
            { name: 'Operations', description: 'Health, metrics, events, warehouse' },
          ],
        },
      }),
    );
}
