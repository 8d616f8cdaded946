import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import postgres from 'postgres';
import { connect, isDatabaseUnavailable, RECONNECT_BACKOFF_MAX_MS } from '../src/db/client.ts';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { PgProxy } from './support/pg-proxy.ts';
import { createProduct, placeOrder, quietJobs, startTestService, type TestService } from './support/service.ts';
import { settlesWithin, waitFor } from './support/wait.ts';

/**
 * The database going away, freezing or cutting a connection must never kill the process, and
 * every wait on it has a bound. These run the service on its own database through a relay that
 * the test can cut or pause (`PgProxy`); the shared test server itself is never touched.
 */
let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
});
afterAll(async () => {
  await db.drop();
});

/** How many sessions of this test's database are running `statement` now. */
const running = async (sql: postgres.Sql, statement: string) =>
  (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query = ${statement}`)[0]!.n;

const crashes: unknown[] = [];
const onCrash = (error: unknown) => crashes.push(error);
beforeAll(() => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
});
afterAll(() => {
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
  expect(crashes).toEqual([]);
});

describe('the driver when a backend dies (postgres.js, patched: patches/postgres@3.4.9.patch)', () => {
  /** Ends the backend and waits (up to 5 s, in the server) until it has exited. */
  const kill = async (killer: postgres.Sql, pid: number) => {
    const [row] = await killer<{ gone: boolean }[]>`SELECT pg_terminate_backend(${pid}, 5000) AS gone`;
    expect(row!.gone).toBe(true);
  };

  test('a reserved connection pipelines again once a new statement was described: what queued behind it goes out together', async () => {
    const events: string[] = [];
    const sql = postgres(db.url, { max: 1, onnotice: () => {}, debug: (_connection: number, text: string) => events.push(`sent ${text}`) });
    try {
      const reserved = await sql.reserve();
      // A statement with a parameter, new to the connection, is described first: nothing else is sent until that is answered.
      const described = reserved`SELECT ${1}::int AS one`.then(() => events.push('answered described'));
      const queued = [reserved`SELECT 2`, reserved`SELECT 3`, reserved`SELECT 4`].map((query, i) => query.then(() => events.push(`answered ${i + 2}`)));
      await Promise.all([described, ...queued]);
      // Upstream sent one queued statement per answer: SELECT 3 only after SELECT 2 was answered.
      expect(events.indexOf('sent SELECT 4')).toBeGreaterThan(-1);
      expect(events.indexOf('sent SELECT 4')).toBeLessThan(events.indexOf('answered 2'));
      reserved.release();
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  test('a reserved connection whose backend died rejects its queries; it never throws outside them', async () => {
    const sql = postgres(db.url, { max: 2, onnotice: () => {} });
    const killer = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const reserved = await sql.reserve();
      const [row] = await reserved<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      await kill(killer, row!.pid);
      for (let i = 0; i < 3; i++) {
        const error = await reserved`SELECT 1`.then(() => undefined, (e: unknown) => e);
        expect(isDatabaseUnavailable(error)).toBe(true);
      }
      reserved.release();
      expect((await sql`SELECT 1 AS one`)[0]!.one).toBe(1); // the pool recovers
    } finally {
      await sql.end({ timeout: 1 });
      await killer.end({ timeout: 1 });
    }
  });

  test('a transaction whose backend dies mid-way rejects, and its later statements never run on another session', async () => {
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    const killer = postgres(db.url, { max: 1, onnotice: () => {} });
    await killer`CREATE TABLE IF NOT EXISTS fault_probe (n int)`;
    try {
      let lateWrite: unknown = 'not attempted';
      let killed = 0;
      let reconnected = 0;
      let transactionEnded!: () => void;
      const ended = new Promise<void>((resolve) => (transactionEnded = resolve));
      const outcome = await sql
        .begin(async (tx) => {
          const [row] = await tx<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
          killed = row!.pid;
          await kill(killer, killed);
          await settlesWithin(ended, 5000, 'the driver to end the transaction whose backend died');
          // The pool's only connection is open again, on a new session (max: 1, same connection object).
          reconnected = (await sql<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`)[0]!.pid;
          lateWrite = await tx`INSERT INTO fault_probe VALUES (1)`.then(() => 'ran', (e: unknown) => e);
          return 'committed';
        })
        .then((v) => v, (e: unknown) => (transactionEnded(), e));
      expect(isDatabaseUnavailable(outcome)).toBe(true);
      await waitFor(() => lateWrite !== 'not attempted', 5000, 'the late write');
      expect(reconnected).not.toBe(killed);
      expect(isDatabaseUnavailable(lateWrite)).toBe(true);
      expect((await sql`SELECT count(*)::int AS n FROM fault_probe`)[0]!.n).toBe(0);
    } finally {
      await killer`DROP TABLE IF EXISTS fault_probe`;
      await sql.end({ timeout: 1 });
      await killer.end({ timeout: 1 });
    }
  });

  test('a reservation waiting for a connection gets the one that reconnects after its backend died', async () => {
    // The stock engine's transactions run on reserved connections. Upstream, a closing connection
    // took the waiting reservation out of the queue to reconnect with, then dropped it: it waited
    // for ever, and so did every stock change of its product (seen under kill -9 of PostgreSQL).
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    const killer = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const held = await sql.reserve();
      const [row] = await held<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      const waiting = sql.reserve(); // the pool's only connection is held: this one queues
      await kill(killer, row!.pid);
      const reserved = await settlesWithin(waiting, 3000, 'the waiting reservation to get the reconnected connection');
      const [fresh] = await reserved<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      expect(fresh!.pid).not.toBe(row!.pid);
      reserved.release();
      held.release();
      expect((await sql`SELECT 1 AS one`)[0]!.one).toBe(1);
    } finally {
      await sql.end({ timeout: 1 });
      await killer.end({ timeout: 1 });
    }
  });

  test('a statement sent between a socket error and the close is settled; the next session does not wait for it', async () => {
    // What the stock engine does when a write fails: ROLLBACK at once. Upstream, a ROLLBACK sent
    // after the connection's socket error but before its close stayed queued across the
    // reconnect, waiting for an answer for ever (seen under a frozen PostgreSQL, tests/chaos).
    const proxy = await PgProxy.start(db.url);
    const sql = postgres(proxy.urlFor(db.url), { max: 1, onnotice: () => {}, backoff: () => 0.05 });
    try {
      const tx = await sql.reserve();
      await tx`BEGIN`;
      let rollback: Promise<unknown> | undefined;
      const slow = tx`SELECT pg_sleep(2)`.execute().then(
        () => 'answered',
        (error: unknown) => {
          rollback = tx`ROLLBACK`.execute().then(() => 'rolled back', (e: unknown) => e);
          return error;
        },
      );
      await waitFor(async () => (await running(db.sql, 'SELECT pg_sleep(2)')) === 1, 3000, 'the slow statement to run on the server');
      proxy.reset();
      expect(isDatabaseUnavailable(await slow)).toBe(true);
      const settled = await settlesWithin(rollback!, 3000, 'the ROLLBACK sent after the socket error to be settled');
      expect(isDatabaseUnavailable(settled)).toBe(true);
      tx.release();
      expect((await sql`SELECT 1 AS one`)[0]!.one).toBe(1);
    } finally {
      await sql.end({ timeout: 1 });
      proxy.stop();
    }
  });

  test('a reservation whose connection attempt fails is rejected and takes no connection later', async () => {
    const proxy = await PgProxy.start(db.url);
    const sql = postgres(proxy.urlFor(db.url), { max: 1, onnotice: () => {}, connect_timeout: 1, backoff: () => 0.05 });
    try {
      proxy.down();
      const failed = await sql.reserve().then(() => 'reserved', (e: unknown) => e);
      expect(isDatabaseUnavailable(failed)).toBe(true);
      proxy.up();
      // Upstream the failed reservation stayed queued and was later handed the pool's only
      // connection, which nobody would ever release: every later query waited for ever.
      const one = await settlesWithin(sql`SELECT 1 AS one`.then((r) => r[0]!.one), 3000, 'a query on the pool after the failed reservation');
      expect(one).toBe(1);
    } finally {
      proxy.up();
      await sql.end({ timeout: 1 });
      proxy.stop();
    }
  });
});

describe('the service when its database goes away', () => {
  const CONNECT_TIMEOUT_MS = 1000;
  const REQUEST_TIMEOUT_MS = 1000;
  let proxy: PgProxy;
  let t: TestService;
  beforeAll(async () => {
    proxy = await PgProxy.start(db.url);
    const viaProxy = connect(proxy.urlFor(db.url), { max: 8, connectTimeoutMs: CONNECT_TIMEOUT_MS, statementTimeoutMs: 5000 });
    t = await startTestService({ ...quietJobs, REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), BODY_READ_TIMEOUT_MS: '500' }, { db: { ...viaProxy, name: db.name, drop: async () => {} } });
  });
  afterAll(async () => {
    proxy.resume();
    proxy.up();
    await t.close();
    await t.db.close(1);
    proxy.stop();
  });

  test('down: 503 problem+json with Retry-After, fast; live stays 200; back up: served again within the reconnect bound', async () => {
    const product = await createProduct(t.api, { initialStock: 100 });
    proxy.down();
    const started = performance.now();
    const order = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { key: 'down-1' });
    expect(order.status).toBe(503);
    expect(order.headers.get('content-type')).toBe('application/problem+json');
    expect(order.headers.get('retry-after')).toBe('1');
    const read = await t.api.get(`/api/v1/products/${product.id}`, 'anonymous');
    expect(read.status).toBe(503);
    expect((await t.api.get('/health', 'anonymous')).status).toBe(503);
    expect((await t.api.get('/health/live', 'anonymous')).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(3000);

    proxy.up();
    // Served again within a bound the configuration sets: a connection refused while the database
    // was away tries again at most RECONNECT_BACKOFF_MAX_MS (0.5 s) after its last attempt, connecting
    // is bounded by this pool's connect timeout (1 s) and the request that then gets through by
    // REQUEST_TIMEOUT_MS (1 s). Upstream postgres.js would wait up to 20 s between attempts.
    const servedWithinMs = RECONNECT_BACKOFF_MAX_MS + CONNECT_TIMEOUT_MS + REQUEST_TIMEOUT_MS;
    const back = performance.now();
    await waitFor(async () => (await t.api.get('/health', 'anonymous')).status === 200, servedWithinMs, 'health once the database is back');
    const again = await waitFor(async () => {
      const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { key: 'down-1' });
      return reply.status === 202 ? reply : undefined;
    }, servedWithinMs - (performance.now() - back), 'an order accepted once the database is back');
    expect(['reserved', 'pending', 'processed']).toContain(again.body.status);
  });

  test('paused: every request is answered within its deadline, then all is well once it resumes', async () => {
    const product = await createProduct(t.api, { initialStock: 100 });
    proxy.pause();
    const started = performance.now();
    const replies = await Promise.all([
      placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { key: 'paused-1' }),
      t.api.request('GET', `/api/v1/products/${product.id}`, { as: 'anonymous', headers: { 'x-request-id': 'not an id: spaces' } }),
      t.api.post(`/api/v1/products/${product.id}/inventory/adjustments`, { delta: 5, reason: 'paused' }, 'admin', { 'x-request-id': 'adjust-42' }),
    ]);
    const elapsed = performance.now() - started;
    proxy.resume();
    expect(replies.map((r) => r.status)).toEqual([503, 503, 503]);
    for (const reply of replies) expect(reply.headers.get('retry-after')).toBe('1');
    // The request id of a late answer follows the rules of every other answer: a malformed one is replaced.
    expect(replies[1]!.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(replies[2]!.headers.get('x-request-id')).toBe('adjust-42');
    expect(elapsed).toBeLessThan(2000);
    // Outcome unknown for the order: the same key gets the order if it was stored, or stores it now.
    const retried = await waitFor(async () => {
      const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { key: 'paused-1' });
      return reply.status === 202 ? reply : undefined;
    }, 5000, 'the retried order');
    const [row] = await t.db.sql`SELECT count(*)::int AS n FROM orders WHERE id = ${retried.body.id}`;
    expect(row!.n).toBe(1);
  });

  test('/health does not need a slot of the pool: 200 while every connection is taken', async () => {
    // Every connection of the pool (8) reserved: a health check that needed one could only time out.
    const taken = await settlesWithin(Promise.all(Array.from({ length: 8 }, () => t.db.sql.reserve())), 3000, 'every connection of the pool to be reserved');
    try {
      const started = performance.now();
      expect((await t.api.get('/health', 'anonymous')).status).toBe(200);
      expect(performance.now() - started).toBeLessThan(500);
    } finally {
      for (const connection of taken) connection.release();
    }
  });
});
