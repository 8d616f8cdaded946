import { afterAll, beforeAll, expect, test } from 'bun:test';
import fc from 'fast-check';
import { serveOptions } from '../src/http/server.ts';
import { fingerprint } from './support/fingerprint.ts';
import { operationsOf, requestFor, send, type FuzzReply, type FuzzRequest, type Operation } from './support/fuzz-requests.ts';
import type { IdPool } from './support/fuzz-values.ts';
import { createProduct, placeOrder, quietJobs, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * Property-based fuzzing of every operation in `/swagger/json`, over a real socket, with a fixed
 * seed and a bounded number of runs. For any input: no 5xx; every 4xx is problem+json with the
 * RFC 9457 members; a refused request changes no row of any table; and innocent requests sent
 * alongside hostile ones all succeed, with their effect.
 */
const SEED = 20_261_111;
/** Random requests per operation of the document, then each operation sent fewer than `AT_LEAST` times is topped up. */
const RUNS_PER_OPERATION = 9;
const AT_LEAST = 3;
const ROUNDS_ALONGSIDE = 25;
const HOSTILE_PER_ROUND = 6;

let t: TestService;
let base: string;
let ops: Operation[];
const pool: IdPool = { products: [], categories: [], orders: [] };
/** Products only innocent requests touch: one for adjustments, one for orders. */
let innocent: { stock: string; orders: string };
const sentPerOperation = new Map<string, number>();
const statuses = new Map<number, number>();

beforeAll(async () => {
  // Nothing writes unless a request does: periodic jobs, heartbeats and warehouse drift are quiet.
  t = await startTestService({ ...quietJobs, HEARTBEAT_MS: '600000', HEARTBEAT_TTL_MS: '3600000', WAREHOUSE_DRIFT_INTERVAL_MS: '0', BODY_READ_TIMEOUT_MS: '1000' });
  const server = t.service.app.listen(serveOptions({ port: 0, host: '127.0.0.1' })).server!;
  base = `http://127.0.0.1:${server.port}`;
  // Enough products that the fuzzed DELETEs leave most of them orderable.
  const products = await Promise.all(Array.from({ length: 12 }, (_, i) => createProduct(t.api, { initialStock: i < 10 ? 1000 : 0 })));
  const category = await t.api.post('/api/v1/categories', { name: 'Fuzzed' });
  const order = await placeOrder(t.api, [{ productId: products[0].id, quantity: 1 }]);
  Object.assign(pool, { products: products.map((p) => p.id), categories: [category.body.id], orders: [order.body.id] });
  innocent = { stock: (await createProduct(t.api, { initialStock: 1000 })).id, orders: (await createProduct(t.api, { initialStock: 1_000_000 })).id };
  ops = operationsOf((await t.api.get('/swagger/json', 'anonymous')).body);
  await settle();
});

afterAll(async () => {
  await t.service.app.server?.stop(true);
  await t.close();
});

function expectWellFormed(request: FuzzRequest, reply: FuzzReply) {
  const what = `${request.describe}\n→ ${reply.status} ${JSON.stringify(reply.body)?.slice(0, 300)}`;
  sentPerOperation.set(`${request.op.method} ${request.op.path}`, (sentPerOperation.get(`${request.op.method} ${request.op.path}`) ?? 0) + 1);
  statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
  expect(reply.status, what).toBeLessThan(500);
  if (reply.status >= 400) {
    expect(reply.contentType, what).toBe('application/problem+json');
    expect(reply.body, what).toMatchObject({ type: expect.any(String), title: expect.any(String), status: reply.status, detail: expect.any(String) });
  }
}

/** Waits until no order is on its way and the rows stop changing; returns their fingerprint. */
async function settle(): Promise<Record<string, string>> {
  let last = await fingerprint(t.db.sql);
  return waitFor(async () => {
    const [open] = await t.db.sql`SELECT count(*)::int AS n FROM orders WHERE status IN ('pending', 'reserved')`;
    const now = await fingerprint(t.db.sql);
    const idle = open!.n === 0 && t.service.orders.worker.size === 0 && t.service.actors.depth() === 0;
    const unchanged = Bun.deepEquals(now, last);
    last = now;
    if (idle && unchanged) return now;
    throw new Error(`${open!.n} open orders, pipeline ${t.service.orders.worker.size}, rows ${unchanged ? 'unchanged' : 'still changing'}`);
  }, 10_000, 'the service to settle');
}

const anyRequest = (from: () => Operation[]) => fc.constantFrom(...from()).chain((op) => requestFor(op, pool));

test(
  'any request alone: no 5xx, problem+json on every 4xx, and a refused request changes nothing',
  async () => {
    const alone = async (request: FuzzRequest) => {
      const before = await fingerprint(t.db.sql);
      const reply = await send(base, request);
      expectWellFormed(request, reply);
      if (reply.status >= 400) expect(await fingerprint(t.db.sql), `${request.describe}\n→ ${reply.status} but the database changed`).toEqual(before);
      else await settle();
    };
    const runs = ops.length * RUNS_PER_OPERATION;
    await fc.assert(fc.asyncProperty(anyRequest(() => ops), alone), { seed: SEED, numRuns: runs, endOnFailure: true });
    // Every operation of the document is exercised, whatever the draw gave it (the document grows).
    const sent = (op: Operation) => sentPerOperation.get(`${op.method} ${op.path}`) ?? 0;
    for (const op of ops) {
      const missing = AT_LEAST - sent(op);
      if (missing > 0) await fc.assert(fc.asyncProperty(requestFor(op, pool), alone), { seed: SEED, numRuns: missing, endOnFailure: true });
    }
    for (const op of ops) expect(sent(op), `${op.method} ${op.path}`).toBeGreaterThanOrEqual(AT_LEAST);
    const succeeded = [...statuses].reduce((sum, [status, n]) => sum + (status < 300 ? n : 0), 0);
    expect(succeeded).toBeGreaterThan(runs / 10);
  },
  60_000,
);

test(
  'innocent requests sent alongside hostile ones all succeed, with their effect',
  async () => {
    // A warehouse sync sets every product to the warehouse's count, the innocent ones too: it is fuzzed alone above.
    const alongside = () => ops.filter((op) => op.path !== '/api/v1/warehouse/sync');
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(anyRequest(alongside), { minLength: HOSTILE_PER_ROUND, maxLength: HOSTILE_PER_ROUND }), async (hostile) => {
        await settle();
        round++;
        const [level] = await t.db.sql`SELECT on_hand AS "onHand" FROM inventory_levels WHERE product_id = ${innocent.stock}`;
        const deltas = [3, -2, 5];
        const customers = [`innocent-${round}-a`, `innocent-${round}-b`, `innocent-${round}-c`];
        const adjustments = deltas.map((delta) => t.api.post(`/api/v1/products/${innocent.stock}/inventory/adjustments`, { delta, reason: 'innocent' }));
        const orders = customers.map((customerId) => placeOrder(t.api, [{ productId: innocent.orders, quantity: 2 }], { customerId }));
        const hostileReplies = hostile.map((request) => send(base, request).then((reply) => ({ request, reply })));
        const [innocentReplies, refused] = await Promise.all([Promise.all([...adjustments, ...orders]), Promise.all(hostileReplies)]);
        for (const { request, reply } of refused) expectWellFormed(request, reply);
        expect(innocentReplies.map((r) => r.status)).toEqual([200, 200, 200, 202, 202, 202]);
        await settle();
        const [after] = await t.db.sql`SELECT on_hand AS "onHand" FROM inventory_levels WHERE product_id = ${innocent.stock}`;
        expect(after!.onHand).toBe(level!.onHand + deltas.reduce((a, b) => a + b, 0));
        const placed = await t.db.sql`
          SELECT o.status, (i->>'productId')::uuid AS "productId", (i->>'quantity')::int AS quantity
          FROM orders o CROSS JOIN LATERAL jsonb_array_elements(o.items) i
          WHERE o.customer_id IN ${t.db.sql(customers)}`;
        expect([...placed]).toEqual(customers.map(() => ({ status: 'processed', productId: innocent.orders, quantity: 2 })));
      }),
      { seed: SEED, numRuns: ROUNDS_ALONGSIDE, endOnFailure: true },
    );
    console.log(`fuzz: ${[...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ')}`);
  },
  60_000,
);
