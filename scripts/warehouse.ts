import { loadConfig } from '../src/config.ts';
import { createWarehouseServer } from '../src/modules/warehouse/server.ts';

/**
 * `bun run warehouse`: the warehouse simulator as its own HTTP service. Point the shop at it with
 * WAREHOUSE_URL=http://127.0.0.1:4100. With WAREHOUSE_SEED_URL=<the shop's base URL> it starts
 * with the shop's catalog and counts (public product list); otherwise set counts with
 * PUT /control/stock. Counts drift every WAREHOUSE_DRIFT_INTERVAL_MS by WAREHOUSE_DRIFT_RATE.
 */
const config = loadConfig();
const warehouse = createWarehouseServer({
  port: Number(process.env.WAREHOUSE_PORT ?? 4100),
  hostname: process.env.WAREHOUSE_HOST ?? '127.0.0.1',
});

const seedUrl = process.env.WAREHOUSE_SEED_URL;
if (seedUrl) {
  let cursor: string | null = null;
  do {
    const page: { items: { sku: string; inventory: { onHand: number } }[]; nextCursor: string | null } = await fetch(
      `${seedUrl.replace(/\/$/, '')}/api/v1/products?limit=200&includeArchived=true${cursor ? `&cursor=${cursor}` : ''}`,
    ).then((r) => r.json());
    warehouse.stock.set(page.items.map((p) => ({ sku: p.sku, onHand: p.inventory.onHand })));
    cursor = page.nextCursor;
  } while (cursor);
  console.log(`seeded ${warehouse.stock.size} SKUs from ${seedUrl}`);
}
if (config.warehouseDriftIntervalMs > 0) {
  setInterval(() => warehouse.stock.drift(config.warehouseDriftRate), config.warehouseDriftIntervalMs);
}
console.log(`warehouse simulator listening on ${warehouse.url}`);

const stop = async () => {
  await warehouse.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
