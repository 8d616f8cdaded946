import { afterAll, describe, expect, test } from 'bun:test';
import { createPaymentServer } from '../src/modules/payments/server.ts';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { placeHold } from './support/holds.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { freePort, spawnService, type ServiceProcess } from './support/process.ts';
import { Api, orderReaches, tokens } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * Real service processes (`bun src/main.ts`) on one database. The process that made the holds is
 * killed with SIGKILL, mid-burst: whatever it had answered 201 is held, whatever it had not may or
 * may not be, and either way every hold's stock comes back on time, through another process or
 * the restarted one, with no request in between.
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

async function setUp() {
  const db = await freshDatabase();
  const payments = createPaymentServer({ port: 0, settings: { failureRate: 0, timeoutRate: 0, latencyMs: { min: 0, max: 2 } } });
  cleanups.push(() => db.drop(), () => payments.stop());
  return { db, env: (nodeId: string) => ({ DATABASE_URL: db.url, PAYMENT_URL: payments.url, NODE_ID: nodeId, ADMIN_TOKEN: tokens.admin, CLIENT_TOKEN: tokens.client, DATA_DIR: `.test-data/${nodeId}`, DB_POOL_MAX: '6' }) };
}

async function start(env: Record<string, string>, port?: number) {
  const service = await spawnService(env, { port });
  cleanups.push(async () => {
    service.proc.kill('SIGKILL');
    await service.proc.exited;
  });
  return service;
}

/** Clients making holds of one unit on the product until told to stop; the ids answered 201. */
function holdBurst(api: Api, productId: string) {
  const held = new Set<string>();
  let running = true;
  const clients = Array.from({ length: 8 }, async (_, n) => {
    for (let i = 0; running; i++) {
      const reply = await placeHold(api, [{ productId, quantity: 1 }], { customerId: `burst-${n}-${i}` }).catch(() => undefined);
      if (reply?.status === 201) held.add(reply.body.id);
      if (!reply) return; // the process is gone
    }
  });
  return {
    held,
    async stop() {
      running = false;
      await Promise.all(clients);
    },
  };
}

/** Kills the process mid-burst, once it has answered some holds: the holds it stored. */
async function killMidBurst(db: TestDatabase, maker: ServiceProcess, productId: string) {
  const burst = holdBurst(Api.forUrl(maker.base), productId);
  await waitFor(() => burst.held.size >= 10, 10_000, 'holds answered before the kill');
  maker.proc.kill('SIGKILL');
  await maker.proc.exited;
  await burst.stop();
  const active = await db.sql`SELECT id FROM holds WHERE status = 'active'`;
  expect(active.length).toBeGreaterThanOrEqual(burst.held.size); // every hold answered 201 was stored
  return active.length;
}

/** The holds expire a second from now (database time): their shortest real time is 30 s. */
const expireSoon = (db: TestDatabase) => db.sql`UPDATE holds SET expires_at = now() + interval '1 second' WHERE status = 'active'`;

/** Watching the database only (no request): every hold's stock is back, each within 2 s of its expiry. */
async function freedOnTime(db: TestDatabase, productId: string, holds: number) {
  await waitFor(async () => (await db.sql`SELECT held FROM location_levels WHERE product_id = ${productId}`)[0]!.held === 0, 15_000, 'the held units to come back');
  const [late] = await db.sql`
    SELECT count(*) FILTER (WHERE status = 'expired')::int AS expired, max(extract(epoch FROM updated_at - expires_at) * 1000) AS "worstMs",
           min(extract(epoch FROM updated_at - expires_at) * 1000) AS "earliestMs"
    FROM holds`;
  expect(late!.expired).toBe(holds);
  expect(Number(late!.earliestMs)).toBeGreaterThanOrEqual(0);
  expect(Number(late!.worstMs)).toBeLessThan(2_000);
  const [records] = await db.sql`SELECT count(*)::int AS n, count(DISTINCT h->>'id')::int AS distinct FROM events e, json_array_elements(e.changes->'holds') h`;
  expect(records).toEqual({ n: holds, distinct: holds }); // hold.expired once each
}

/** The killed process's holds expire and are given back on time; an order for all 60 units is then processed, and every count agrees. */
async function givenBackAndSold(db: TestDatabase, api: Api, productId: string, holds: number) {
  await expireSoon(db);
  await freedOnTime(db, productId, holds);
  const order = await api.post('/api/v1/orders', { customerId: 'after', items: [{ productId, quantity: 60 }] }, 'client');
  expect(order.body.status).toBe('reserved');
  await orderReaches(api, order.body.id, ['processed']);
  await expectStockConsistent(db.sql);
}

describe('kill -9 of the process that made the holds', () => {
  test(
    'another process gives their stock back on time, and an order for it is processed',
    async () => {
      const { db, env } = await setUp();
      const [maker, other] = await Promise.all([start(env('holds-maker')), start(env('holds-other'))]);
      const api = Api.forUrl(other.base);
      const product = (await api.post('/api/v1/products', { sku: 'HOLD-KILL', name: 'Held then killed', price: '3.00', initialStock: 60 })).body;
      const holds = await killMidBurst(db, maker, product.id);
      await givenBackAndSold(db, api, product.id, holds);
    },
    60_000,
  );

  test(
    'alone: the restarted process gives their stock back on time, and an order for it is processed',
    async () => {
      const { db, env } = await setUp();
      const port = await freePort();
      const maker = await start(env('holds-alone'), port);
      const api = Api.forUrl(maker.base);
      const product = (await api.post('/api/v1/products', { sku: 'HOLD-RESTART', name: 'Held, killed, restarted', price: '3.00', initialStock: 60 })).body;
      const holds = await killMidBurst(db, maker, product.id);
      await start(env('holds-alone'), port);
      await givenBackAndSold(db, api, product.id, holds);
    },
    60_000,
  );
});
