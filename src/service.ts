import { StockActors } from './actors/stock-actors.ts';
import type { Config } from './config.ts';
import type { Database } from './db/client.ts';
import type { Tokens } from './http/auth.ts';
import { createApp, type App, type AppServices } from './http/app.ts';
import type { Logger } from './lib/logger.ts';
import { Capabilities } from './modules/capabilities.ts';
import { CategoriesService } from './modules/categories/categories.service.ts';
import { InventoryService } from './modules/inventory/inventory.service.ts';
import { ProductsService } from './modules/products/products.service.ts';
import pkg from '../package.json' with { type: 'json' };

export type Service = {
  app: App;
  services: AppServices;
  actors: StockActors;
  capabilities: Capabilities;
  /** Stops background work and waits for queued stock changes; the caller closes the database. */
  stop(): Promise<void>;
};

/** Wires the services of one process on an open, migrated database. */
export async function buildService(config: Config, database: Database, tokens: Tokens, logger: Logger): Promise<Service> {
  const capabilities = await Capabilities.detect(database.db);
  const actors = new StockActors(database.sql, { maxDepth: config.mailboxMaxDepth, maxBatch: 500, idleMs: 60_000 });
  const services: AppServices = {
    sql: database.sql,
    products: new ProductsService(database.db, capabilities),
    categories: new CategoriesService(database.db, capabilities),
    inventory: new InventoryService(database.sql, actors),
  };
  const app = createApp(services, { tokens, bodyLimitBytes: config.bodyLimitBytes, logger, version: pkg.version });
  return {
    app,
    services,
    actors,
    capabilities,
    async stop() {
      await actors.drain();
      actors.close();
    },
  };
}
