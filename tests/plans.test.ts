import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { connect, type Database } from '../src/db/client.ts';
import { grownTables } from '../src/db/statistics.ts';
import { readEvents } from '../src/modules/events/events.queries.ts';
import { buildService, type Service } from '../src/service.ts';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { Api, createProduct, orderReaches, placeOrder, quietJobs, testEnv, tokens } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * Plans that stay right as tables grow. PostgreSQL caches a prepared statement's generic plan after
 * its fifth run; made while a table is empty (or analysed while empty), it can be a sequential
 * scan, and it stays one as the table grows until something invalidates it. The service's
 * statements are run here as the service sends them (its code, on one session of its own pool,
 * so the cached plans can be read back) while the tables are small; then the tables grow by tens
 * of thousands of rows at once, with autovacuum off (it may never come round in time), and each
 * statement's plan, as the cache would run it now, is read with EXPLAIN EXECUTE.
 */
const BIG = ['orders', 'order_logs', 'stock_movements', 'events', 'inventory_levels', 'location_levels', 'products'];
/** What a sequential scan of these costs once they grew: the statements must never need one. */
const GROWTH = { orders: 60_000, events: 30_000, movements: 30_000, logs: 30_000, products: 20_000 };

type Sent = { text: string; parameters: unknown[] };

let db: TestDatabase;
let probe: Database;
let service: Service;
let api: Api;
const sent = new Map<string, Sent>();

beforeAll(async () => {
  db = await freshDatabase();
  // Autovacuum must not rescue the plans during the test: what is asserted holds without it.
  for (const table of BIG) await db.sql.unsafe(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
  // As autovacuum, an operator or a migration may leave them: analysed while empty.
  await db.sql`ANALYZE`;
  // One connection: every statement the service prepares lives on the session the test reads back.
  probe = connect(db.url, { max: 1, onStatement: (text, parameters) => sent.set(text, { text, parameters }) });
  // Every stock batch reads and writes on the pool (none is decided from memory on the lane's own
  // session, which keeps the same plan settings from its start, src/db/client.ts `lane`).
  const config = loadConfig({ ...testEnv, ...quietJobs, NODE_ID: 'plans', STOCK_PIPELINE_DEPTH: '0' });
  service = await buildService(config, probe, tokens, pino({ level: 'silent' }));
  await service.start({ background: false });
  api = new Api((request) => service.app.handle(request));
}, 30_000);

afterAll(async () => {
  await service.stop();
  await probe.close();
  await db.drop();
});

/** Every path of the service that reads or changes rows by id or through a claim index, run `times` times. */
async function exercise(times: number) {
  const products = [await createProduct(api, { initialStock: 1000 }), await createProduct(api, { initialStock: 1000 })];
  const run = (job: string) => service.scheduler.job(job).run();
  for (let i = 0; i < times; i++) {
    const items = [{ productId: products[i % 2]!.id, quantity: 1 }];
    const keyed = await placeOrder(api, items, { key: `plans-${i}-${Math.random()}`, customerId: `plans-${i % 3}` });
    const plain = await placeOrder(api, items, { customerId: `plans-${i % 3}` });
    expect([keyed.status, plain.status]).toEqual([202, 202]);
    await orderReaches(api, plain.body.id, ['processed']);
    await orderReaches(api, keyed.body.id, ['processed']);
    expect((await api.get(`/api/v1/orders?customerId=plans-${i % 3}`, 'client')).status).toBe(200);
    expect((await api.get(`/api/v1/orders/${plain.body.id}/logs`, 'client')).status).toBe(200);
    expect((await api.get(`/api/v1/products/${products[0]!.id}`, 'anonymous')).status).toBe(200);
    expect((await api.get(`/api/v1/products/${products[0]!.id}/inventory`, 'anonymous')).status).toBe(200);
    expect((await api.post(`/api/v1/orders/${plain.body.id}/ship`)).status).toBe(200);
    expect((await api.post(`/api/v1/orders/${keyed.body.id}/cancel`, undefined, 'client')).status).toBe(200);
    await service.orders.worker.sweep(undefined, 'any');
    await service.orders.worker.sweep(undefined, 'abandoned');
    await service.orders.reconciler.sweep();
    await run('stuck-reservations');
    await run('idempotency-prune');
    await run('outbox-prune');
    await readEvents(probe.sql, { tx: '0', id: '0' }, 100);
  }
}

/** The tables grow at once, from another connection, as a busy first hour (or a bulk import) makes them. */
async function grow() {
  const sql = db.sql;
  await sql`
    INSERT INTO products (id, sku, name, price) SELECT gen_random_uuid(), 'GROWN-' || g, 'Grown', 1 FROM generate_series(1, ${GROWTH.products}::int) g`;
  await sql`INSERT INTO inventory_levels (product_id, on_hand) SELECT id, 1 FROM products WHERE sku LIKE 'GROWN-%'`;
  await sql`
    INSERT INTO orders (id, customer_id, status, items, total, next_attempt_at, created_at, updated_at, processed_at)
    SELECT gen_random_uuid(), 'grown-' || (g % 5000), 'processed', '[]'::jsonb, 1, now(), now(), now(), now()
    FROM generate_series(1, ${GROWTH.orders}::int) g`;
  await sql`INSERT INTO order_logs (order_id, status, message) SELECT id, status, 'grown' FROM orders WHERE customer_id LIKE 'grown-%' LIMIT ${GROWTH.logs}`;
  const [level] = await sql<{ productId: string }[]>`SELECT product_id AS "productId" FROM inventory_levels LIMIT 1`;
  await sql`
    INSERT INTO stock_movements (product_id, delta, reason, on_hand_after)
    SELECT ${level!.productId}, 1, 'grown', g FROM generate_series(1, ${GROWTH.movements}::int) g`;
  await sql`INSERT INTO events (changes) SELECT '{"v":2}'::json FROM generate_series(1, ${GROWTH.events}::int)`;
}

/** A value postgres.js would send, as SQL text for `EXECUTE name(...)`. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Array.isArray(value)) {
    const element = (v: unknown) => (v === null || v === undefined ? 'NULL' : `"${String(v).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`);
    return literal(`{${value.map(element).join(',')}}`);
  }
  if (value instanceof Date) return literal(value.toISOString());
  return `'${String(value).replaceAll("'", "''")}'`;
}

type PlanNode = { 'Node Type': string; 'Relation Name'?: string; Plans?: PlanNode[] };
const scans = (node: PlanNode): string[] => [
  ...(node['Node Type'] === 'Seq Scan' && BIG.includes(node['Relation Name'] ?? '') ? [node['Relation Name']!] : []),
  ...(node.Plans ?? []).flatMap(scans),
];

type Finding = { statement: string; runs: number; generic: boolean; seqScans: string[] };

/** The plan each statement touching a big table would run with now, as cached on the probe's session. */
async function plans(): Promise<Finding[]> {
  const prepared = await probe.sql<{ name: string; statement: string; types: string[]; runs: number; generic: boolean }[]>`
    SELECT name, statement, parameter_types::text[] AS types, (generic_plans + custom_plans)::int AS runs, generic_plans > 0 AS generic
    FROM pg_prepared_statements`;
  const findings: Finding[] = [];
  for (const { name, statement, types, runs, generic } of prepared) {
    if (!new RegExp(`\\b(${BIG.join('|')})\\b`).test(statement) || statement.includes('pg_prepared_statements')) continue;
    const parameters = sent.get(statement)?.parameters;
    if (!parameters) continue;
    const args = parameters.map((value, i) => `${literal(value)}::${types[i]}`).join(', ');
    const [row] = await probe.sql.unsafe(`EXPLAIN (FORMAT JSON) EXECUTE "${name}"${args ? `(${args})` : ''}`);
    const plan = (row!['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan;
    findings.push({ statement: statement.replace(/\s+/g, ' ').trim(), runs, generic, seqScans: scans(plan) });
  }
  return findings;
}

/** Statements of the stock transactions (the hot path): they must be right before statistics catch up. */
const STOCK_PATH = [
  /^SELECT o\.id, o\.version, o\.status, .* FROM orders o WHERE o\.id = ANY/,
  /UPDATE orders o SET status/,
  /UPDATE location_levels l/,
  /FROM inventory_levels l JOIN products/,
  /FROM locations loc LEFT JOIN location_levels/,
];

describe('cached plans as the tables grow (issue 18)', () => {
  test('no statement of the service scans a large table once it grew, the stock path not even before statistics catch up', async () => {
    await exercise(7);
    await grow();

    const before = await plans();
    const hot = before.filter((f) => STOCK_PATH.some((pattern) => pattern.test(f.statement)));
    // Each stock-path statement ran often enough to be cached, and is: planning it each time would
    // cost more than running it. Cached while the tables were small, its plan is still no scan.
    expect(hot.length).toBeGreaterThanOrEqual(STOCK_PATH.length);
    expect(hot.filter((f) => f.runs < 6 || !f.generic)).toEqual([]);
    expect(hot.filter((f) => f.seqScans.length > 0)).toEqual([]);

    // The statistics job sees the tables grew (once the growing session's counts reached the
    // statistics views, within a few seconds) and analyses them: every cached plan is made again.
    await waitFor(async () => {
      const grown = new Set((await grownTables(db.sql)).map((t) => t.name));
      return BIG.every((table) => grown.has(table));
    }, 15_000, 'the growth of every table to show in pg_stat_user_tables');
    const counts = await service.scheduler.job('table-statistics').run();
    expect(counts).toEqual({ analysed: BIG.length });
    expect([...(await grownTables(db.sql))]).toEqual([]);
    const after = await plans();
    expect(after.length).toBeGreaterThanOrEqual(15);
    expect(after.filter((f) => f.seqScans.length > 0)).toEqual([]);
  }, 60_000);
});
