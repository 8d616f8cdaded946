import { afterAll, describe, expect, test } from 'bun:test';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { spawnService, type ServiceProcess } from './support/process.ts';
import { Api, tokens } from './support/service.ts';
import { waitFor } from './support/wait.ts';

const databases: TestDatabase[] = [];
const processes: ServiceProcess[] = [];
afterAll(async () => {
  for (const p of processes) p.proc.kill('SIGKILL');
  for (const db of databases) await db.drop();
});

async function start(db: TestDatabase, env: Record<string, string> = {}) {
  const service = await spawnService({
    DATABASE_URL: db.url,
    ADMIN_TOKEN: tokens.admin,
    CLIENT_TOKEN: tokens.client,
    NODE_ID: 'shutdown-node',
    DATA_DIR: '.test-data/shutdown-node',
    PAYMENT_FAILURE_RATE: '0',
    PAYMENT_TIMEOUT_RATE: '0',
    PAYMENT_LATENCY_MS: '20-60',
    RETRY_BASE_MS: '30',
    ...env,
  });
  processes.push(service);
  return service;
}

async function fresh() {
  const db = await freshDatabase();
  databases.push(db);
  return db;
}

describe('graceful shutdown', () => {
  test(
    'SIGTERM under load: exits 0 within the deadline, no accepted order lost, the rest finishes after a restart',
    async () => {
      const db = await fresh();
      const service = await start(db, { SHUTDOWN_TIMEOUT_MS: '5000', LOG_LEVEL: 'info' });
      const api = Api.forUrl(service.base);
      const product = (await api.post('/api/v1/products', { sku: 'SHUT-1', name: 'Shutdown', price: '1.00', initialStock: 100_000 })).body;
      const accepted: string[] = [];
      let refused = 0;
      let running = true;
      const client = async () => {
        while (running) {
          try {
            const reply = await api.post('/api/v1/orders', { customerId: 'sd', items: [{ productId: product.id, quantity: 1 }] }, 'client');
            if (reply.status === 202) accepted.push(reply.body.id);
          } catch {
            refused++;
            await Bun.sleep(10); // the scenario: a refused client tries again a little later
          }
        }
      };
      const clients = Array.from({ length: 8 }, client);
      await waitFor(() => accepted.length > 20, 10_000, 'the load to be under way');
      const signalled = Date.now();
      service.proc.kill('SIGTERM');
      const code = await service.proc.exited;
      const tookMs = Date.now() - signalled;
      running = false;
      await Promise.all(clients);
      expect(code).toBe(0);
      expect(tookMs).toBeLessThan(5000); // SHUTDOWN_TIMEOUT_MS: work under way finished, not cut off
      expect(accepted.length).toBeGreaterThan(20);
      expect(refused).toBeGreaterThan(0); // new requests were refused after the signal
      expect(service.output()).toContain('"msg":"stopped"');
      console.log(`shutdown under load: ${accepted.length} accepted, exited ${tookMs} ms after SIGTERM`);

      const [stored] = await db.sql`SELECT count(*)::int AS n FROM orders WHERE id = ANY(${accepted}::uuid[])`;
      expect(stored!.n).toBe(accepted.length);
      const again = await start(db);
      await waitFor(
        async () => (await db.sql`SELECT count(*)::int AS n FROM orders WHERE status IN ('pending', 'reserved')`)[0]!.n === 0,
        30_000,
        'every order to finish after the restart',
      );
      await expectStockConsistent(db.sql);
      again.proc.kill('SIGTERM');
      expect(await again.proc.exited).toBe(0);
    },
    60_000,
  );

  test(
    'a second signal exits at once; the order it was working on is resumed by the next start',
    async () => {
      const db = await fresh();
      // Payments never answer (60 s client timeout), so a clean stop would wait the whole deadline.
      const service = await start(db, { PAYMENT_TIMEOUT_RATE: '1', PAYMENT_TIMEOUT_MS: '60000', SHUTDOWN_TIMEOUT_MS: '30000', LOG_LEVEL: 'info' });
      const api = Api.forUrl(service.base);
      const product = (await api.post('/api/v1/products', { sku: 'SHUT-2', name: 'Twice', price: '1.00', initialStock: 5 })).body;
      const order = (await api.post('/api/v1/orders', { customerId: 'sd', items: [{ productId: product.id, quantity: 1 }] }, 'client')).body;
      await waitFor(async () => (await api.get(`/api/v1/orders/${order.id}`, 'client')).body.status === 'reserved', 5000, 'reserved');
      const signalled = Date.now();
      service.proc.kill('SIGTERM');
      await waitFor(() => service.output().includes('"msg":"shutting down"'), 5000, 'the first signal to start the shutdown');
      service.proc.kill('SIGTERM');
      expect(await service.proc.exited).toBe(1);
      expect(Date.now() - signalled).toBeLessThan(3000);
      expect(service.output()).toContain('second signal');

      const again = await start(db);
      const done = await waitFor(
        async () => {
          const current = (await Api.forUrl(again.base).get(`/api/v1/orders/${order.id}`, 'client')).body;
          return current.status === 'processed' ? current : null;
        },
        20_000,
        'the order to be resumed',
      );
      expect(done.payment.status).toBe('succeeded');
      again.proc.kill('SIGTERM');
      await again.proc.exited;
    },
    60_000,
  );
});

describe('logs', () => {
  test('JSON lines; every line a request causes carries its request id', async () => {
    const db = await fresh();
    const service = await start(db, { LOG_LEVEL: 'debug' });
    await fetch(`${service.base}/api/v1/products/not-a-uuid`, { headers: { 'x-request-id': 'trace-me-42' } });
    await fetch(`${service.base}/api/v1/products`, {
      method: 'POST',
      headers: { 'x-request-id': 'trace-me-43', authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'LOG-1', name: 'Logged', price: '1.00' }),
    });
    const jsonLines = () =>
      service
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    // Each request's own line is out before the process is asked to stop.
    await waitFor(() => ['trace-me-42', 'trace-me-43'].every((id) => jsonLines().some((l) => l.requestId === id && l.msg === 'request')), 5000, 'the request log lines');
    service.proc.kill('SIGTERM');
    await service.proc.exited;
    const lines = jsonLines();
    expect(lines.length).toBeGreaterThan(3);
    const first = lines.filter((l) => l.requestId === 'trace-me-42');
    expect(first).toContainEqual(expect.objectContaining({ msg: 'request', status: 422, route: '/api/v1/products/:id', method: 'GET' }));
    const second = lines.filter((l) => l.requestId === 'trace-me-43');
    expect(second).toContainEqual(expect.objectContaining({ msg: 'request', status: 201, route: '/api/v1/products' }));
    expect(lines.every((l) => typeof l.level === 'number' && typeof l.time === 'number')).toBe(true);
  }, 30_000);
});
