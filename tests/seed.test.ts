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
  const [counts] = await db.sql<{ products: number; skus: number; categories: number; orders: number; links: number }[]>`
    SELECT (SELECT count(*)::int FROM products) AS products,
           (SELECT count(DISTINCT lower(sku))::int FROM products) AS skus,
           (SELECT count(*)::int FROM categories) AS categories,
           (SELECT count(*)::int FROM orders) AS orders,
           (SELECT count(*)::int FROM product_categories) AS links`;
  const byStatus = Object.fromEntries(
    (await db.sql`SELECT status, count(*)::int AS n FROM orders GROUP BY status`).map((r) => [r.status, r.n]),
  ) as Record<string, number>;
  return { ...counts!, byStatus };
}

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
      expect(seeded).toMatchObject({ products: 30, skus: 30, categories: 12, orders: 40 });
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
      expect(second).toContain('none added');
      const again = await snapshot();
      expect(again).toEqual(seeded);
      await expectStockConsistent(db.sql);

      const grown = await seed('--products', '35', '--orders', '46');
      expect(grown).toContain('5 created, 30 already there');
      const more = await snapshot();
      expect(more).toMatchObject({ products: 35, skus: 35, categories: 12, orders: 46 });
      await expectStockConsistent(db.sql);
      await expectLogsFollowStatus();

      await seed('--reset', '--products', '10', '--orders', '12', '--categories', '4');
      const reset = await snapshot();
      expect(reset).toMatchObject({ products: 10, skus: 10, categories: 4, orders: 12 });
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
