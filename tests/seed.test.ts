import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { orderLog } from '../src/modules/orders/orders.queries.ts';
import { spawn } from 'bun';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { ROOT } from './support/process.ts';

/** `bun run seed` as a user runs it (a child process, output to a pipe), on this file's own database. */
let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(() => db.drop());

async function seed(...args: string[]) {
  const proc = spawn(['bun', 'scripts/seed.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: db.url, DATA_DIR: '.test-data/seed' },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`seed exited with ${code}:\n${stdout}\n${stderr}`);
  return stdout;
}

const statuses = ['pending', 'reserved', 'processed', 'shipped', 'failed', 'cancelled'];

async function snapshot() {
  const [counts] = await db.sql<{ products: number; skus: number; categories: number; orders: number; links: number; locations: number; movements: number }[]>`
    SELECT (SELECT count(*)::int FROM products) AS products,
           (SELECT count(DISTINCT lower(sku))::int FROM products) AS skus,
           (SELECT count(*)::int FROM categories) AS categories,
           (SELECT count(*)::int FROM orders) AS orders,
           (SELECT count(*)::int FROM product_categories) AS links,
           (SELECT count(*)::int FROM locations) AS locations,
           (SELECT count(*)::int FROM stock_movements) AS movements`;
  const byStatus = Object.fromEntries(
    (await db.sql`SELECT status, count(*)::int AS n FROM orders GROUP BY status`).map((r) => [r.status, r.n]),
  ) as Record<string, number>;
  return { ...counts!, byStatus };
}

/** The demo locations, by priority (the default one aside). */
const demoLocations = async () => [...(await db.sql`SELECT code, kind, priority, active FROM locations WHERE NOT is_default AND deleted_at IS NULL ORDER BY priority`)];

/**
 * Where the products were stocked (their `initial` movements): how many were put at one, two and
 * three locations, and whether any was put at the default one.
 */
async function spread() {
  const rows = await db.sql<{ places: number; products: number }[]>`
    SELECT places, count(*)::int AS products FROM (
      SELECT product_id, count(DISTINCT location_id)::int AS places FROM stock_movements WHERE reason = 'initial' GROUP BY product_id) per_product
    GROUP BY places ORDER BY places`;
  const [atDefault] = await db.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM stock_movements m JOIN locations l ON l.id = m.location_id WHERE l.is_default AND m.reason = 'initial'`;
  return { byPlaces: Object.fromEntries(rows.map((r) => [r.places, r.products])), atDefault: atDefault!.n };
}

/** Orders whose one product's units came from two locations or more. */
const splitOrders = async () => [
  ...(await db.sql<{ status: string; quantity: number; codes: string[]; quantities: number[] }[]>`
  SELECT o.status, (o.items->0->>'quantity')::int AS quantity,
         array_agg(l.code ORDER BY l.code) AS codes, array_agg((a->>'quantity')::int ORDER BY l.code) AS quantities
  FROM orders o CROSS JOIN jsonb_array_elements(o.allocations) a JOIN locations l ON l.id = (a->>'locationId')::uuid
  WHERE jsonb_array_length(o.items) = 1
  GROUP BY o.id HAVING count(*) > 1`),
];

/** Every order's log tells its story: it starts accepted (pending, or reserved when its stock was there) and ends in its current status. */
async function expectLogsFollowStatus() {
  const orders = await db.sql<{ id: string; status: string }[]>`SELECT id, status FROM orders`;
  const collapse = (trail: string[]) => trail.filter((s, i) => i === 0 || s !== trail[i - 1]).join('>');
  const allowed = [
    'pending',
    'pending>cancelled',
    'pending>failed',
    'pending>reserved',
    'reserved',
    'reserved>processed',
    'reserved>processed>shipped',
    'reserved>processed>cancelled',
    'reserved>failed',
    'reserved>cancelled',
  ];
  for (const order of orders) {
    const trail = (await orderLog(db.sql, order.id))!.map((entry) => entry.status);
    expect(trail.at(-1) as string, order.id).toBe(order.status);
    const collapsed = collapse(trail);
    expect(allowed, `${order.id}`).toContain(collapsed);
  }
}

describe('bun run seed', () => {
  test(
    'a demo catalog and orders in every state; a second run adds nothing; --reset starts over',
    async () => {
      const first = await seed('--products', '30', '--orders', '40');
      expect(first).toContain('products: 30/30 done');
      expect(first).not.toContain('\r'); // not a terminal: plain lines, no progress bar
      const seeded = await snapshot();
      expect(seeded).toMatchObject({ products: 30, skus: 30, categories: 12, orders: 40, locations: 4 });
      expect(first).toContain('locations: 3 created, 0 already there (CENTRAL, NORTH, CITY-STORE)');
      expect(await demoLocations()).toEqual([
        { code: 'CENTRAL', kind: 'warehouse', priority: 10, active: true },
        { code: 'NORTH', kind: 'warehouse', priority: 20, active: true },
        { code: 'CITY-STORE', kind: 'store', priority: 30, active: true },
      ]);
      // 27 in stock (every tenth sold out): the split one at two, the others at one, two or three in turn; none at the default location.
      expect(await spread()).toEqual({ byPlaces: { 1: 8, 2: 10, 3: 9 }, atDefault: 0 });
      // The split order took more than its best location had: all 6 at CENTRAL, 1 from NORTH.
      expect(await splitOrders()).toEqual([{ status: 'processed', quantity: 7, codes: ['CENTRAL', 'NORTH'], quantities: [6, 1] }]);
      expect(seeded.links).toBeGreaterThanOrEqual(30);
      for (const status of statuses) expect(seeded.byStatus[status] ?? 0).toBeGreaterThan(0);
      expect(seeded.byStatus).toMatchObject({ shipped: 6, failed: 6, reserved: 6, pending: 6, cancelled: 6, processed: 10 });
      await expectStockConsistent(db.sql);
      await expectLogsFollowStatus();

      const [money] = await db.sql`
        SELECT count(*) FILTER (WHERE status IN ('processed', 'shipped') AND payment_status <> 'succeeded')::int AS unpaid,
               count(*) FILTER (WHERE status = 'failed' AND payment_status <> 'declined')::int AS undeclined,
               count(*) FILTER (WHERE status = 'cancelled' AND payment_status = 'refunded')::int AS refunded,
               count(*) FILTER (WHERE status = 'reserved' AND payment_attempts = 1 AND next_attempt_at > now() + interval '1 minute')::int AS retrying,
               count(*) FILTER (WHERE status = 'pending' AND attempts = 1 AND next_attempt_at > now() + interval '1 minute')::int AS waiting
        FROM orders`;
      expect(money).toEqual({ unpaid: 0, undeclined: 0, refunded: 3, retrying: 6, waiting: 6 });

      const second = await seed('--products', '30', '--orders', '40');
      expect(second).toContain('0 created, 30 already there');
      expect(second).toContain('locations: 0 created, 3 already there');
      expect(second).toContain('none added');
      const again = await snapshot();
      expect(again).toEqual(seeded);
      await expectStockConsistent(db.sql);

      const grown = await seed('--products', '35', '--orders', '46');
      expect(grown).toContain('5 created, 30 already there');
      const more = await snapshot();
      expect(more).toMatchObject({ products: 35, skus: 35, categories: 12, orders: 46, locations: 4 });
      expect((await spread()).byPlaces).toEqual({ 1: 10, 2: 12, 3: 10 });
      await expectStockConsistent(db.sql);
      await expectLogsFollowStatus();

      // A location added by hand goes with the reset too.
      await db.sql`INSERT INTO locations (id, code, name) VALUES (gen_random_uuid(), 'BY-HAND', 'Added by hand')`;
      await seed('--reset', '--products', '10', '--orders', '12', '--categories', '4');
      const reset = await snapshot();
      expect(reset).toMatchObject({ products: 10, skus: 10, categories: 4, orders: 12, locations: 4 });
      expect((await demoLocations()).map((l) => l.code)).toEqual(['CENTRAL', 'NORTH', 'CITY-STORE']);
      expect(await spread()).toEqual({ byPlaces: { 1: 2, 2: 4, 3: 3 }, atDefault: 0 });
      expect(await splitOrders()).toEqual([{ status: 'processed', quantity: 7, codes: ['CENTRAL', 'NORTH'], quantities: [6, 1] }]);
      expect((await db.sql`SELECT count(*)::int AS n FROM transfers`)[0]!.n).toBe(0);
      for (const status of statuses) expect(reset.byStatus[status] ?? 0).toBeGreaterThan(0);
      await expectStockConsistent(db.sql);
      await expectLogsFollowStatus();
    },
    120_000,
  );

  test('bad flags: usage and exit code 2, nothing written', async () => {
    const proc = spawn(['bun', 'scripts/seed.ts', '--products', 'many'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: db.url }, stderr: 'pipe', stdout: 'pipe' });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(2);
    expect(stderr).toContain('--products must be an integer');
    expect(stderr).toContain('--reset');
  });
});
