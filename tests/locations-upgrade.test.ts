import { afterAll, beforeAll, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { migrate } from '../src/db/migrate.ts';
import { DEFAULT_LOCATION_ID } from '../src/db/schema/locations.ts';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { ROOT, spawnService, type ServiceProcess } from './support/process.ts';
import { Api, tokens, uniqueSku } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * Locations arrive with no downtime (issue 20): a populated database is upgraded while the
 * previous version serves orders, the new version starts beside it, the old one stops, and nothing
 * accepted is lost or counted twice. The previous version is the real code of the commit before
 * locations, checked out of this repository's history and run as its own process.
 */
const PREVIOUS = 'd773a8df66feb1226da548fd2906cdb2fe63a68a';
const LAST_OLD_MIGRATION = '0006_order_birth';

let db: TestDatabase;
let oldTree: string;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  oldTree = await mkdtemp(path.join(os.tmpdir(), 'stockroom-previous-'));
  const archive = spawnSync('sh', ['-c', `git archive ${PREVIOUS} src package.json drizzle | tar -x -C ${oldTree}`], { cwd: ROOT, encoding: 'utf8' });
  if (archive.status !== 0) throw new Error(`could not check out the previous version: ${archive.stderr}`);
  // The same dependencies (and the same patched driver) as this tree.
  await symlink(path.join(ROOT, 'node_modules'), path.join(oldTree, 'node_modules'));
  db = await freshDatabase({ upTo: LAST_OLD_MIGRATION });
}, 60_000);

afterAll(async () => {
  for (const p of processes) p.proc.kill('SIGKILL');
  await db?.drop();
  await rm(oldTree, { recursive: true, force: true });
});

const env = (node: string) => ({
  DATABASE_URL: db.url,
  NODE_ID: node,
  DATA_DIR: path.join(os.tmpdir(), `stockroom-upgrade-${node}`),
  ADMIN_TOKEN: tokens.admin,
  CLIENT_TOKEN: tokens.client,
  PAYMENT_LATENCY_MS: '0-5',
  PAYMENT_FAILURE_RATE: '0',
  PAYMENT_TIMEOUT_RATE: '0',
  RETRY_BASE_MS: '50',
  RETRY_MAX_MS: '200',
  HEARTBEAT_MS: '200',
  HEARTBEAT_TTL_MS: '1000',
  DB_POOL_MAX: '6',
});

async function start(node: string, cwd?: string) {
  const service = await spawnService(env(node), { cwd });
  processes.push(service);
  return { service, api: Api.forUrl(service.base) };
}

test('the previous version serves while the migration runs; the new version takes over; nothing is lost or counted twice', async () => {
  const old = await start('previous', oldTree);
  const product = async (stock: number) => (await old.api.post('/api/v1/products', { sku: uniqueSku('UPG'), name: 'Upgrade', price: '2.50', initialStock: stock })).body.id as string;
  const plenty = await product(100_000);
  const scarce = await product(40);

  // Orders from several clients, against whichever process is serving: every 202 is recorded.
  const accepted = new Set<string>();
  const failures: string[] = [];
  let api = old.api;
  let running = true;
  const client = async (n: number) => {
    for (let i = 0; running; i++) {
      const productId = i % 5 === 0 ? scarce : plenty;
      const reply = await api.post('/api/v1/orders', { customerId: `upgrade-${n}`, items: [{ productId, quantity: 1 + (i % 2) }] }, 'client', { 'idempotency-key': `upg-${n}-${i}` });
      if (reply.status === 202) accepted.add(reply.body.id);
      else failures.push(`${reply.status} ${JSON.stringify(reply.body)}`);
    }
  };
  const clients = Array.from({ length: 6 }, (_, n) => client(n));
  await waitFor(() => accepted.size >= 100, 20_000, 'orders accepted by the previous version');

  // The expand migration under that traffic, then the new version beside the old one.
  const applied = await migrate(db.sql);
  expect(applied.slice(0, 2)).toEqual(['0007_locations', '0008_locations_ledger']);
  const sizeAtMigration = accepted.size;
  await waitFor(() => accepted.size >= sizeAtMigration + 100, 20_000, 'the previous version serving on the new schema');
  const fresh = await start('current');
  api = fresh.api;
  await waitFor(() => accepted.size >= sizeAtMigration + 200, 20_000, 'the new version serving');

  // While the previous version beats, stock stays at the default location: its code knows no other.
  const early = await fresh.api.post('/api/v1/locations', { code: 'EARLY', name: 'Too early' });
  expect(early.status).toBe(409);
  expect(early.body.detail).toContain('previous version');
  expect((await db.sql`SELECT code FROM locations`).map((l) => l.code)).toEqual(['default']);

  // The previous version is replaced: a clean stop hands its leases back.
  old.service.proc.kill('SIGTERM');
  await old.service.proc.exited;
  await waitFor(() => accepted.size >= sizeAtMigration + 300, 20_000, 'orders after the takeover');
  running = false;
  await Promise.all(clients);
  expect(failures).toEqual([]);

  // Every accepted order is stored once, and becomes final (or processed).
  await waitFor(
    async () => (await db.sql`SELECT count(*)::int AS n FROM orders WHERE status IN ('pending', 'reserved')`)[0]!.n === 0,
    30_000,
    'every order final',
  );
  const stored = await db.sql<{ id: string }[]>`SELECT id FROM orders WHERE id = ANY(${[...accepted]}::uuid[])`;
  expect(stored.length).toBe(accepted.size);
  const [{ n: total }] = await db.sql<[{ n: number }]>`SELECT count(*)::int AS n FROM orders`;
  expect(total).toBe(accepted.size);

  // Stock: per location the ledger is on hand and what orders hold is reserved; the sums agree;
  // the scarce product sold exactly what it had, never more.
  await expectStockConsistent(db.sql);
  const [scarceLevel] = await db.sql`SELECT on_hand, reserved, awaiting_shipment FROM location_levels WHERE product_id = ${scarce}`;
  expect(scarceLevel!.reserved).toBe(0);
  expect(scarceLevel!.on_hand + scarceLevel!.awaiting_shipment).toBe(40);

  // Now that only the new version serves, the shop may add a location, and use it: stock moves
  // there from the default location, and an order limited to it is served from it.
  const added = await waitFor(
    async () => {
      const reply = await fresh.api.post('/api/v1/locations', { code: `NEW-${Date.now()}`, name: 'After' });
      return reply.status === 201 ? (reply.body as { id: string }) : null;
    },
    5_000,
    'a location once the old version is gone',
  );
  const moved = await fresh.api.post('/api/v1/transfers', { fromLocationId: DEFAULT_LOCATION_ID, toLocationId: added.id, items: [{ productId: plenty, quantity: 5 }] });
  expect(moved.status).toBe(201);
  expect((await fresh.api.post(`/api/v1/transfers/${moved.body.id}/receive`, { items: [{ productId: plenty, quantity: 5 }] })).body.status).toBe('received');
  const there = await fresh.api.post('/api/v1/orders', { customerId: 'after-upgrade', items: [{ productId: plenty, quantity: 2 }], locationIds: [added.id] }, 'client');
  expect(there.body.items[0].allocations).toEqual([{ locationId: added.id, quantity: 2 }]);
  await waitFor(async () => (await db.sql`SELECT status FROM orders WHERE id = ${there.body.id}`)[0]!.status === 'processed', 10_000, 'the order at the new location processed');
  await expectStockConsistent(db.sql);
}, 120_000);
