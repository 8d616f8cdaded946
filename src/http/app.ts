import { Elysia, t } from 'elysia';
import type { Logger } from 'pino';
import type { Sql } from '../db/client.ts';
import { dashboardRoutes } from '../dashboard/dashboard.routes.ts';
import { categoriesRoutes } from '../modules/categories/categories.routes.ts';
import type { CategoriesService } from '../modules/categories/categories.service.ts';
import { inventoryRoutes } from '../modules/inventory/inventory.routes.ts';
import type { InventoryService } from '../modules/inventory/inventory.service.ts';
import { productsRoutes } from '../modules/products/products.routes.ts';
import type { ProductsService } from '../modules/products/products.service.ts';
import type { EventHub } from '../modules/events/event-hub.ts';
import { eventsRoutes } from '../modules/events/events.routes.ts';
import { ordersRoutes } from '../modules/orders/orders.routes.ts';
import type { OrdersService } from '../modules/orders/orders.service.ts';
import type { Metrics } from '../modules/metrics/metrics.ts';
import { metricsRoutes } from '../modules/metrics/metrics.routes.ts';
import { warehouseRoutes } from '../modules/warehouse/warehouse.routes.ts';
import type { WarehouseSync } from '../modules/warehouse/warehouse.service.ts';
import { DEFAULT_BODY_READ_TIMEOUT_MS } from '../config.ts';
import { observe } from './observe.ts';
import type { Tokens } from './auth.ts';
import { httpBase } from './base.ts';
import { docs } from './docs.ts';
import { AppError } from './errors.ts';
import { errors } from './models.ts';

export type AppServices = {
  sql: Sql;
  products: ProductsService;
  categories: CategoriesService;
  inventory: InventoryService;
  orders: OrdersService;
  events: EventHub;
  warehouse: WarehouseSync;
  metrics: Metrics;
};

export type AppOptions = { tokens: Tokens; bodyLimitBytes: number; bodyReadTimeoutMs?: number; logger: Logger; version: string };

/** Builds the HTTP application without listening: `main.ts` serves it, tests call `app.handle()`. */
export function createApp(services: AppServices, options: AppOptions) {
  return new Elysia()
    .use(httpBase({ ...options, bodyReadTimeoutMs: options.bodyReadTimeoutMs ?? DEFAULT_BODY_READ_TIMEOUT_MS }))
    .use(observe(options.logger, services.metrics))
    .use(docs(options.version))
    .get(
      '/health',
      async () => {
        try {
          await Promise.race([services.sql`SELECT 1`, Bun.sleep(2000).then(() => Promise.reject(new Error('timed out')))]);
        } catch (error) {
          throw new AppError('unavailable', `database unreachable: ${(error as Error).message}`);
        }
        return { status: 'ok' as const };
      },
      {
        response: { 200: t.Object({ status: t.Literal('ok') }), ...errors(503) },
        detail: { summary: 'Liveness and database reachability', tags: ['Operations'] },
      },
    )
    .use(productsRoutes(services.products, options.tokens))
    .use(inventoryRoutes(services.inventory, options.tokens))
    .use(categoriesRoutes(services.categories, services.products, options.tokens))
    .use(ordersRoutes(services.orders, options.tokens))
    .use(eventsRoutes(services.events, options.tokens))
    .use(warehouseRoutes(services.warehouse, options.tokens))
    .use(metricsRoutes(services.metrics, options.tokens))
    .use(dashboardRoutes());
}

export type App = ReturnType<typeof createApp>;
