import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfig, poolOptions } from '../src/config.ts';
import { openDatabase } from '../src/db/open.ts';
import { Behaviour, SimulatedGateway } from '../src/modules/payments/simulator.ts';
import { buildService } from '../src/service.ts';
import { DEMO_LOCATIONS, demoStock, ensureCatalog, planCatalog, splitProductId } from './seed/catalog.ts';
import { ensureLocations, stockProducts } from './seed/locations.ts';
import { DEMO_CUSTOMER_PREFIX, placeDemoOrders } from './seed/orders.ts';

const usage = `bun run seed [options]: demo data in the database (DATABASE_URL, or the embedded one in DATA_DIR)

  --products N     demo products (default 200; every tenth one sold out, the others spread over
                   the demo locations ${DEMO_LOCATIONS.map((l) => l.code).join(', ')})
  --categories N   demo categories (default 12, at most about 20)
  --orders N       demo orders, spread over every state (default 300)
  --seed N         faker seed: the same seed gives the same catalog (default 42)
  --reset          empty the catalog, every order and transfer, and remove every location but the
                   default one first (all rows, not only demo ones)

Running it again adds only what is missing: locations by code, products by SKU (stocked once,
when created), and orders up to --orders demo
orders (customers "${DEMO_CUSTOMER_PREFIX}…"). Pending and reserved demo orders are left with their
next attempt minutes ahead; a running service takes them up then.`;

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        products: { type: 'string', default: '200' },
        categories: { type: 'string', default: '12' },
        orders: { type: 'string', default: '300' },
        seed: { type: 'string', default: '42' },
        reset: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
})();
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const count = (name: 'products' | 'categories' | 'orders' | 'seed', min: number) => {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < min) {
    console.error(`--${name} must be an integer of at least ${min}, got "${values[name]}"\n\n${usage}`);
    process.exit(2);
  }
  return value;
};
const sizes = { products: count('products', 2), categories: count('categories', 1), orders: count('orders', 0), seed: count('seed', 0) };

// The seed's own service: no HTTP, no periodic jobs; retries far enough away that pending and
// reserved orders stay as they are left until a real service takes them up (5 to 10 minutes: the
// random source keeps full jitter's share of a 10-minute delay in its upper half).
const config = loadConfig({ ...process.env, NODE_ID: 'stockroom-seed', RETRY_BASE_MS: '600000', RETRY_MAX_MS: '3600000', LOG_LEVEL: 'warn' });
const { database, embedded } = await openDatabase(
  { databaseUrl: config.databaseUrl, dataDir: config.dataDir, pool: poolOptions(config, { max: 8, applicationName: 'stockroom-seed' }) },
  (message) => console.log(message),
);
const { sql } = database;
const payments = new Behaviour({ failureRate: 0, timeoutRate: 0, latencyMs: { min: 0, max: 0 } });
const unused = () => randomBytes(24).toString('base64url');
const service = await buildService(config, database, { admin: unused(), client: unused() }, pino({ level: 'warn' }, pino.destination(2)), {
  paymentGateway: new SimulatedGateway(payments, config.paymentTimeoutMs),
  clock: { now: () => Date.now(), random: () => 0.5 + Math.random() / 2 },
});

let failed = false;
try {
  if (values.reset) {
    await sql`TRUNCATE products, categories, orders, events, transfers CASCADE`;
    // Nothing names them any more (their stock rows and ledger went with the products); the default one stays.
    await sql`DELETE FROM locations WHERE NOT is_default`;
    console.log('reset: catalog, inventory, orders, transfers and events emptied; locations other than the default removed');
  }
  await service.start({ background: false });
  const plan = planCatalog(sizes.seed, sizes.products, sizes.categories);
  const locations = await ensureLocations(sql, service.services.locations);
  const catalog = await ensureCatalog(sql, service.services, plan);
  await stockProducts(sql, service.services.inventory, plan, locations.ids);

  const [existing] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orders WHERE customer_id LIKE ${`${DEMO_CUSTOMER_PREFIX}%`}`;
  const toPlace = Math.max(0, sizes.orders - existing!.n);
  if (toPlace > 0) {
    const stock = await demoStock(sql, plan);
    await placeDemoOrders(
      { sql, orders: service.services.orders, afterSale: service.services.afterSale, payments, stock, splitProductId: await splitProductId(sql, plan) },
      toPlace,
    );
  }
  else console.log(`orders: ${existing!.n} demo orders already there (--orders ${sizes.orders}): none added`);

  const states = await sql<{ status: string; n: number }[]>`
    SELECT status, count(*)::int AS n FROM orders WHERE customer_id LIKE ${`${DEMO_CUSTOMER_PREFIX}%`} GROUP BY status ORDER BY status`;
  console.log(
    `seeded: ${locations.created} locations, ${catalog.categoriesCreated} categories and ${catalog.productsCreated} products created (${catalog.productsKept} kept), ` +
      `${toPlace} orders placed; demo orders now: ${states.map((s) => `${s.n} ${s.status}`).join(', ') || 'none'}`,
  );
} catch (error) {
  failed = true;
  console.error(`seed failed: ${(error as Error).stack ?? error}`);
} finally {
  await service.stop();
  await database.close();
  // A server this run adopted belongs to someone else (a running service): leave it running.
  if (embedded?.started) await embedded.stop();
}
process.exit(failed ? 1 : 0);
