import { Elysia, t } from 'elysia';
import type { Logger } from 'pino';
import { dashboardRoutes } from '../dashboard/dashboard.routes.ts';
import { categoriesRoutes } from '../modules/categories/categories.routes.ts';
import type { CategoriesService } from '../modules/categories/categories.service.ts';
import { inventoryRoutes } from '../modules/inventory/inventory.routes.ts';
import type { InventoryService } from '../modules/inventory/inventory.service.ts';
import { locationsRoutes } from '../modules/locations/locations.routes.ts';
import type { LocationsService } from '../modules/locations/locations.service.ts';
import { transfersRoutes } from '../modules/transfers/transfers.routes.ts';
import type { TransfersService } from '../modules/transfers/transfers.service.ts';
import { productsRoutes } from '../modules/products/products.routes.ts';
import type { ProductsService } from '../modules/products/products.service.ts';
import type { EventHub } from '../modules/events/event-hub.ts';
import { eventsRoutes } from '../modules/events/events.routes.ts';
import { afterSaleRoutes } from '../modules/orders/after-sale.routes.ts';
import type { AfterSaleService } from '../modules/orders/after-sale.service.ts';
import { ordersRoutes } from '../modules/orders/orders.routes.ts';
import { holdsRoutes } from '../modules/holds/holds.routes.ts';
import type { HoldsService } from '../modules/holds/holds.service.ts';
import type { OrdersService } from '../modules/orders/orders.service.ts';
import type { Metrics } from '../modules/metrics/metrics.ts';
import { metricsRoutes } from '../modules/metrics/metrics.routes.ts';
import { warehouseRoutes } from '../modules/warehouse/warehouse.routes.ts';
import type { WarehouseSync } from '../modules/warehouse/warehouse.service.ts';
import { apiKeysRoutes } from '../modules/api-keys/api-keys.routes.ts';
import type { ApiKeysService } from '../modules/api-keys/api-keys.service.ts';
import { webhooksRoutes } from '../modules/webhooks/webhooks.routes.ts';
import type { WebhooksService } from '../modules/webhooks/webhooks.service.ts';
import { checkAccess } from './access.ts';
import { around } from './around.ts';
import { httpBase } from './base.ts';
import { corsPolicy } from './cors.ts';
import { accessGate, type GateOptions } from './gate.ts';
import { meRoutes } from './me.routes.ts';
import { docs } from './docs.ts';
import { AppError } from '../lib/errors.ts';
import { errors } from './models.ts';

export type AppServices = {
  /** A round trip to the database that needs no slot of the shared pool (`Database.ping`). */
  ping(timeoutMs: number): Promise<void>;
  products: ProductsService;
  categories: CategoriesService;
  inventory: InventoryService;
  locations: LocationsService;
  transfers: TransfersService;
  orders: OrdersService;
  holds: HoldsService;
  afterSale: AfterSaleService;
  events: EventHub;
  warehouse: WarehouseSync;
  metrics: Metrics;
  apiKeys: ApiKeysService;
  webhooks: WebhooksService;
};

export type AppOptions = {
  access: GateOptions;
  corsOrigins: string[];
  bodyLimitBytes: number;
  bodyReadTimeoutMs: number;
  logger: Logger;
  version: string;
  /** This process's node id: the health answers name it, so a caller of a cluster sees who answered. */
  nodeId: string;
  /** Deadlines of a request (see `deadlines`); the warehouse sync runs a whole synchronisation. */
  requestTimeoutMs: number;
  syncRequestTimeoutMs: number;
};

const HEALTH_TIMEOUT_MS = 1_000;

const health = t.Object({
  status: t.Literal('ok'),
  node: t.String({ description: 'The node id of the process that answered (with WORKERS > 1, one of several on this port)' }),
});

/** Builds the HTTP application without listening: `main.ts` serves it, tests call `app.handle()`. */
export function createApp(services: AppServices, options: AppOptions) {
  const gate = accessGate(options.access);
  const app = new Elysia()
    // First: its parse hook decides before the HTTP shell's body parser reads anything (gate.ts).
    .use(gate)
    .use(corsPolicy(options.corsOrigins))
    .use(httpBase(options))
    .use(docs(options.version))
    .use(around({ ...options, metrics: services.metrics }))
    .get(
      '/health',
      async () => {
        try {
          await services.ping(HEALTH_TIMEOUT_MS);
        } catch (error) {
          throw new AppError('unavailable', `database unreachable: ${(error as Error).message}`);
        }
        return { status: 'ok' as const, node: options.nodeId };
      },
      {
        response: { 200: health, ...errors(503) },
        detail: {
          summary: 'Readiness: the process is up and its database answers',
          description: 'Checked on a connection of its own (a busy pool does not make it fail); 503 when the database does not answer within 1 s.',
          tags: ['Operations'],
        },
      },
    )
    .get('/health/live', () => ({ status: 'ok' as const, node: options.nodeId }), {
      response: { 200: health, ...errors(429) },
      detail: {
        summary: 'Liveness: the process is up and serving',
        description: 'Does not touch the database: a supervisor restarts on this one failing, not on `/health` (a database outage is not cured by a restart).',
        tags: ['Operations'],
      },
    })
    .use(meRoutes(gate))
    .use(productsRoutes(services.products))
    .use(inventoryRoutes(services.inventory))
    .use(categoriesRoutes(services.categories, services.products))
    .use(locationsRoutes(services.locations))
    .use(transfersRoutes(services.transfers, gate))
    .use(ordersRoutes(services.orders, gate))
    .use(holdsRoutes(services.holds, gate))
    .use(afterSaleRoutes(services.afterSale, gate))
    .use(eventsRoutes(services.events, gate))
    .use(warehouseRoutes(services.warehouse))
    .use(metricsRoutes(services.metrics))
    .use(apiKeysRoutes(services.apiKeys))
    .use(webhooksRoutes(services.webhooks))
    .use(dashboardRoutes());
  checkAccess(app.routes);
  return app;
}

export type App = ReturnType<typeof createApp>;
