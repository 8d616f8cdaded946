import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { backoffMs } from '../src/lib/backoff.ts';
import { Behaviour, LATE_CHARGE_MS, SimulatedGateway } from '../src/modules/payments/simulator.ts';
import { claimDueOrders } from '../src/modules/orders/work.queries.ts';
import { freshDatabase } from './support/cluster.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { insertOrderRow } from './support/orders.ts';
import type { Step } from '../src/modules/orders/transitions.ts';
import { createProduct, orderReaches, placeOrder, quietJobs, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

const fixedClock = { now: () => Date.now(), random: () => 0.5 };
let t: TestService;
beforeAll(async () => {
  // Long retries and leases, no periodic job: nothing moves unless the test moves it.
  t = await startTestService({ ...quietJobs, RETRY_BASE_MS: '10000', RETRY_MAX_MS: '600000', LEASE_MS: '30000' }, { serviceOptions: { clock: fixedClock } });
});
afterAll(() => t.close());

const other = () => crypto.randomUUID();
const inFuture = (ms: number) => new Date(Date.now() + ms);

const insertOrder = (productId: string, options: { status?: string; leaseOwner?: string | null; leaseMs?: number; quantity?: number } = {}) =>
  insertOrderRow(t.db.sql, productId, {
    ...options,
    customerId: 'recovery',
    leaseUntil: options.leaseOwner ? new Date(Date.now() + (options.leaseMs ?? 30_000)) : null,
  });

describe('retry timing (injected clock and random source, no sleeping)', () => {
  test('one backoff formula: doubling from the base, capped, fully jittered', () => {
    const schedule = { baseMs: 1000, maxMs: 60_000 };
    expect(backoffMs(1, schedule, () => 0)).toBe(0);
    expect(backoffMs(1, schedule, () => 1)).toBe(1000);
    expect(backoffMs(2, schedule, () => 0.5)).toBe(1000);
    expect(backoffMs(3, schedule, () => 0.5)).toBe(2000);
    expect(backoffMs(30, schedule, () => 0)).toBe(0);
    expect(backoffMs(30, schedule, () => 1)).toBe(60_000);
  });

  test('a short order stays pending with next_attempt_at = now + backoff; it is claimable exactly from then', async () => {
    const product = await createProduct(t.api, { initialStock: 0 });
    const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
    // Born pending: the row below is written by the same INSERT that made the order visible.
    const pending = await orderReaches(t.api, reply.body.id, ['pending']);
    const [row] = await t.db.sql`
      SELECT attempts, lease_owner, extract(epoch FROM next_attempt_at - updated_at) * 1000 AS delay FROM orders WHERE id = ${reply.body.id}`;
    expect(row!.attempts).toBe(1);
    expect(row!.lease_owner).toBeNull(); // waiting for its retry, any process may take it
    expect(Math.round(Number(row!.delay))).toBe(5000); // up to 10000 × 2^0, × 0.5 from the random source
    expect(pending.status).toBe('pending');

    const claim = (asOf: Date) => claimDueOrders(t.db.sql, { owner: other(), leaseMs: 30_000, heartbeatTtlMs: 10_000, limit: 10, asOf });
    expect((await claim(inFuture(4500))).map((o) => o.id)).not.toContain(reply.body.id);
    const claimed = await claim(inFuture(5500));
    expect(claimed.map((o) => o.id)).toContain(reply.body.id);
    expect(claimed.find((o) => o.id === reply.body.id)).toMatchObject({ status: 'pending', items: [{ productId: product.id, quantity: 1 }] });
  });
});

describe('leases and fencing', () => {
  test('a live lease is respected; an expired one, or one whose owner stopped its heartbeat, is taken over', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const live = t.service.node.incarnation;
    const held = await insertOrder(product.id, { leaseOwner: live, leaseMs: 30_000 });
    const orphan = await insertOrder(product.id, { leaseOwner: other(), leaseMs: 30_000 }); // owner never registered
    const claimNow = () => claimDueOrders(t.db.sql, { owner: other(), leaseMs: 30_000, heartbeatTtlMs: 10_000, limit: 100 });
    const first = (await claimNow()).map((o) => o.id);
    expect(first).toContain(orphan);
    expect(first).not.toContain(held);
    // The owner's heartbeat goes quiet: its leases are void even before they expire.
    await t.db.sql`UPDATE nodes SET heartbeat_at = now() - interval '1 minute' WHERE incarnation = ${live}`;
    const second = (await claimNow()).map((o) => o.id);
    await t.db.sql`UPDATE nodes SET heartbeat_at = now() WHERE incarnation = ${live}`;
    expect(second).toContain(held);
  });

  test('a stale worker whose order was taken over can no longer change it', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const id = await insertOrder(product.id, { leaseOwner: other(), leaseMs: 1 });
    const [{ version: staleVersion }] = (await t.db.sql`SELECT version FROM orders WHERE id = ${id}`) as unknown as [{ version: number }];
    const [takeover] = await claimDueOrders(t.db.sql, { owner: other(), leaseMs: 30_000, heartbeatTtlMs: 10_000, limit: 100, asOf: inFuture(1000) }).then((rows) =>
      rows.filter((r) => r.id === id),
    );
    expect(takeover!.version).toBe(staleVersion + 1);
    const items = [{ productId: product.id, quantity: 1 }];
    const step = (s: Step) => t.service.actors.submit(t.service.orders.steps.work(id, items, s));
    const late = await step({ kind: 'reserve', version: staleVersion });
    expect(late.outcome).toBe('stale');
    expect((await t.api.get(`/api/v1/products/${product.id}/inventory`)).body.reserved).toBe(0);
    const current = await step({ kind: 'reserve', version: takeover!.version });
    expect(current).toMatchObject({ outcome: 'moved', status: 'reserved' });
    const lateSale = await step({ kind: 'sell', version: staleVersion, charge: 'ch_late', attempts: 1 });
    expect(lateSale.outcome).toBe('stale');
    const [row] = await t.db.sql`SELECT status, payment_reference FROM orders WHERE id = ${id}`;
    expect(row).toEqual({ status: 'reserved', payment_reference: null });
  });

  test('a claim landing between a stock batch\'s read and its write rolls the whole batch back, stock included, and it is run again on fresh rows', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const id = await insertOrder(product.id, { leaseOwner: null });
    const [{ version }] = (await t.db.sql`SELECT version FROM orders WHERE id = ${id}`) as unknown as [{ version: number }];
    const items = [{ productId: product.id, quantity: 1 }];
    const steps = t.service.orders.steps;
    const work = steps.work(id, items, { kind: 'reserve', version });
    // The real participant, with another process's claim committed right after its first read.
    let reads = 0;
    const racing = {
      read: async (tx: Parameters<typeof steps.read>[0], works: Parameters<typeof steps.read>[1]) => {
        const ctx = await steps.read(tx, works);
        if (reads++ === 0) await t.db.sql`UPDATE orders SET version = version + 1, lease_owner = ${other()}, lease_until = now() + interval '30 seconds' WHERE id = ${id}`;
        return ctx;
      },
      apply: steps.apply.bind(steps),
      prepare: steps.prepare.bind(steps),
    };
    const outcome = await t.service.actors.submit({ ...work, participant: racing as unknown as typeof work.participant });
    expect(reads).toBe(2); // the first batch was rolled back (SR001) and run again
    expect(outcome.outcome).toBe('stale'); // on fresh rows the step's version is the old one
    expect((await t.api.get(`/api/v1/products/${product.id}/inventory`)).body).toMatchObject({ onHand: 5, reserved: 0 });
    const [row] = await t.db.sql`SELECT status, version FROM orders WHERE id = ${id}`;
    expect(row).toEqual({ status: 'pending', version: version + 1 });
    await expectStockConsistent(t.db.sql);
  });

  test('two claimers at once get disjoint orders (SKIP LOCKED)', async () => {
    const product = await createProduct(t.api, { initialStock: 0 });
    const ids = new Set<string>();
    for (let i = 0; i < 60; i++) ids.add(await insertOrder(product.id));
    // Two live claimers (registered, heartbeating): a lease one of them holds is not the other's to take.
    const owners = [other(), other()];
    for (const owner of owners) await t.db.sql`INSERT INTO nodes (incarnation, node_id) VALUES (${owner}, ${`claimer-${owner}`})`;
    const claim = (owner: string) => claimDueOrders(t.db.sql, { owner, leaseMs: 30_000, heartbeatTtlMs: 10_000, limit: 40 });
    const [a, b] = await Promise.all([claim(owners[0]!), claim(owners[1]!)]);
    await t.db.sql`DELETE FROM nodes WHERE incarnation = ANY(${owners}::uuid[])`;
    const ours = (rows: { id: string }[]) => rows.map((r) => r.id).filter((id) => ids.has(id));
    const overlap = ours(a).filter((id) => ours(b).includes(id));
    expect(overlap).toEqual([]);
    expect(ours(a).length + ours(b).length).toBe(60);
  });
});

describe('restart', () => {
  test('a node that comes back voids its previous incarnation at once and finishes its work, each order charged exactly once', async () => {
    const nodeId = `restart-${Math.random().toString(36).slice(2, 8)}`;
    const db = await freshDatabase();
    // One provider for both incarnations, as in production: its ledger is where a second charge would show.
    const provider = new SimulatedGateway(new Behaviour({ failureRate: 0, timeoutRate: 0, latencyMs: { min: 0, max: 0 } }), 60_000);
    // The first incarnation's three calls are booked by the provider but never answered (a minute's hang).
    provider.behaviour.failNext('charge-late', 3);
    const first = await startTestService({ ...quietJobs, NODE_ID: nodeId, SHUTDOWN_TIMEOUT_MS: '100' }, { db, serviceOptions: { paymentGateway: provider } });
    const product = await createProduct(first.api, { initialStock: 10 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await placeOrder(first.api, [{ productId: product.id, quantity: 1 }])).body.id);
    for (const id of ids) await orderReaches(first.api, id, ['reserved']);
    const chargesOf = (id: string) => provider.ledger.dump().charges.filter((c) => c.orderId === id);
    await waitFor(() => ids.every((id) => chargesOf(id).length > 0), LATE_CHARGE_MS + 3000, "the provider to book the first incarnation's three charges");
    const booked = new Map(ids.map((id) => [id, chargesOf(id)[0]!.id]));
    // ...and the first incarnation is "killed": it never stops cleanly. The same node starts again, on the same database.
    const second = await startTestService({ NODE_ID: nodeId, LEASE_MS: '600000' }, { db, serviceOptions: { paymentGateway: provider } });
    try {
      for (const id of ids) {
        const done = await orderReaches(second.api, id, ['processed'], 5000); // long before any lease expiry
        expect(done.payment.attempts).toBe(1);
        expect(done.payment.reference).toBe(booked.get(id)); // the charge the provider had booked, found rather than made again
      }
      // Every charge the provider booked for these orders, from either incarnation: exactly one each.
      for (const id of ids) expect(chargesOf(id).map((c) => [c.id, c.status])).toEqual([[booked.get(id)!, 'succeeded']]);
      expect((await second.api.get(`/api/v1/products/${product.id}/inventory`)).body).toMatchObject({ onHand: 7, reserved: 0 });
      await expectStockConsistent(db.sql);
      // The first incarnation's late writes are fenced out: still exactly one sale per order.
      const sales = await db.sql`
        SELECT x.order_id, count(*)::int AS n FROM stock_movements m CROSS JOIN LATERAL unnest(m.order_ids) AS x(order_id)
        WHERE m.reason = 'sale' AND x.order_id = ANY(${ids}::uuid[]) GROUP BY x.order_id`;
      expect(sales.map((s) => s.n)).toEqual([1, 1, 1]);
    } finally {
      await second.close();
      await first.close();
      await db.drop();
    }
  }, 30_000);
});
