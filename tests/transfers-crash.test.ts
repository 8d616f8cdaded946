import { afterAll, expect, test } from 'bun:test';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { fastRecoveryEnv, freePort, spawnService, type ServiceProcess } from './support/process.ts';
import { Api, tokens, uniqueSku } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * Transfers are all or nothing, whatever happens to the process: a service process is killed with
 * SIGKILL at random moments while clients move stock back and forth between two locations, receive
 * and cancel, and orders take the same product. A request whose answer was lost is sent again with
 * its Idempotency-Key, as a client would.
 */
let db: TestDatabase;
let service: ServiceProcess | undefined;
afterAll(async () => {
  service?.proc.kill('SIGKILL');
  await service?.proc.exited;
  await db?.drop();
});

test('kill -9 under transfers, receipts, cancels and orders: each transfer happened once or not at all, and every count agrees', async () => {
  db = await freshDatabase();
  const env = {
    DATABASE_URL: db.url,
    NODE_ID: 'transfer-crash',
    DATA_DIR: '.test-data/transfer-crash',
    ADMIN_TOKEN: tokens.admin,
    CLIENT_TOKEN: tokens.client,
    PAYMENT_LATENCY_MS: '0-5',
    PAYMENT_FAILURE_RATE: '0',
    PAYMENT_TIMEOUT_RATE: '0',
    ...fastRecoveryEnv,
    DB_POOL_MAX: '6',
  };
  const port = await freePort();
  service = await spawnService(env, { port });
  const api = Api.forUrl(`http://127.0.0.1:${port}`);
  const place = async (code: string) => (await api.post('/api/v1/locations', { code, name: code })).body.id as string;
  const [a, b] = [await place('CRASH-A'), await place('CRASH-B')];
  const product = (await api.post('/api/v1/products', { sku: uniqueSku('CRASH'), name: 'Moved', price: '1.00' })).body.id as string;
  await api.post(`/api/v1/products/${product}/inventory/adjustments`, { delta: 300, reason: 'start', locationId: a });

  /** Sends until answered (the process may be down or restarting): the request's outcome, once known. */
  const answered = async (send: () => Promise<{ status: number; body: any; headers: Headers }>) => {
    for (;;) {
      try {
        const reply = await send();
        if (reply.status !== 503) return reply;
      } catch {
        // connection refused or cut: the process is down
      }
      await Bun.sleep(20); // the scenario: a client retrying a little later
    }
  };
  const created = new Map<string, string>();
  let replayed = 0;
  let running = true;
  const mover = async (n: number) => {
    for (let i = 0; running; i++) {
      const [from, to] = (n + i) % 2 === 0 ? [a, b] : [b, a];
      const key = `move-${n}-${i}`;
      const reply = await answered(() =>
        api.post('/api/v1/transfers', { fromLocationId: from, toLocationId: to, items: [{ productId: product, quantity: 2 }] }, 'admin', { 'idempotency-key': key }),
      );
      expect([201, 409]).toContain(reply.status);
      if (reply.status !== 201) continue;
      created.set(key, reply.body.id);
      if (reply.headers.get('idempotent-replayed') === 'true') replayed++;
      // Receive one unit, then receive the other or cancel it; a retry after a lost answer may find it done (409).
      const step = i % 3 === 0 ? 'cancel' : 'receive';
      for (const path of ['receive', step]) {
        const next = await answered(() => api.post(`/api/v1/transfers/${reply.body.id}/${path}`, path === 'receive' ? { items: [{ productId: product, quantity: 1 }] } : undefined));
        expect([200, 409]).toContain(next.status);
      }
    }
  };
  const buyer = async (n: number) => {
    for (let i = 0; running; i++) {
      const key = `buy-${n}-${i}`;
      const order = () => api.post('/api/v1/orders', { customerId: `crash-${n}`, items: [{ productId: product, quantity: 1 }] }, 'client', { 'idempotency-key': key });
      // 409: the first request with the key is still in flight (its answer was cut off): ask again.
      let reply = await answered(order);
      while (reply.status === 409) reply = await answered(order);
      expect(reply.status).toBe(202);
    }
  };
  const clients = [...Array.from({ length: 4 }, (_, n) => mover(n)), ...Array.from({ length: 2 }, (_, n) => buyer(n))];
  for (let round = 0; round < 3; round++) {
    const before = created.size;
    await waitFor(() => created.size >= before + 10, 20_000, `transfers made by incarnation ${round + 1}`);
    await Bun.sleep(Math.random() * 400); // the scenario: a kill at a random moment of the load, not synchronisation
    service.proc.kill('SIGKILL');
    await service.proc.exited;
    service = await spawnService(env, { port });
  }
  const last = created.size;
  await waitFor(() => created.size >= last + 10, 20_000, 'transfers made by the last incarnation').catch(async (error: Error) => {
    // What the service was doing: its stock metrics, and what it logged.
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${tokens.admin}` } }).then((r) => r.text(), String);
    throw new Error(`${error.message}\n${metrics.split('\n').filter((line) => line.startsWith('stock_')).join('\n')}\n${service?.output().slice(-3000)}`);
  });
  running = false;
  await Promise.all(clients);

  // Each key made one transfer, and each transfer answered is there.
  const rows = await db.sql<{ key: string; id: string }[]>`SELECT idempotency_key AS key, id FROM transfers WHERE idempotency_key IS NOT NULL`;
  const stored = new Map(rows.map((r) => [r.key, r.id]));
  for (const [key, id] of created) expect(stored.get(key)).toBe(id);
  await waitFor(async () => (await db.sql`SELECT count(*)::int AS n FROM orders WHERE status IN ('pending', 'reserved')`)[0]!.n === 0, 30_000, 'every order final');
  // Per location: ledger = on hand, incoming = what transfers in transit bring, each transfer's movements = what it moved.
  await expectStockConsistent(db.sql);
  const [total] = await db.sql<{ units: number }[]>`SELECT (on_hand + incoming + awaiting_shipment)::int AS units FROM inventory_levels WHERE product_id = ${product}`;
  expect(total!.units).toBe(300);
  console.log(`transfer crash test: ${created.size} transfers, ${replayed} answered again after a lost answer, ${rows.length} stored with keys`);
}, 120_000);
