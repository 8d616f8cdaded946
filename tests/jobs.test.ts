import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import pino from 'pino';
import { connect } from '../src/db/client.ts';
import type { Job } from '../src/jobs/job.ts';
import { Scheduler, type SchedulerOptions } from '../src/jobs/scheduler.ts';
import { chargeKey } from '../src/modules/payments/gateway.ts';
import type { SimulatedGateway } from '../src/modules/payments/simulator.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { insertOrderRow, type OrderFields } from './support/orders.ts';
import { createProduct, orderReaches, placeOrder, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/** Background work off (no cron ticks, no start-up sweep): the tests tick jobs themselves. */
let t: TestService;
let peer: TestService;
beforeAll(async () => {
  t = await startTestService({ STUCK_RESERVATION_MS: '3600000' }, { background: false });
  peer = await startTestService({}, { db: t.db, background: false });
});
afterAll(async () => {
  await peer.close();
  await t.close();
});

const hours = (n: number) => new Date(Date.now() + n * 3_600_000);
const silent = pino({ level: 'silent' });
const schedulerOptions = (overrides: Partial<SchedulerOptions> = {}): SchedulerOptions => ({
  node: crypto.randomUUID(),
  metrics: t.service.metrics,
  logger: silent,
  now: Date.now,
  jobTimeoutMs: 10_000,
  lock: { acquireTimeoutMs: 2_000, keepAliveMs: 500 },
  ...overrides,
});

const insertOrder = (productId: string, fields: OrderFields) => insertOrderRow(t.db.sql, productId, { ...fields, customerId: 'jobs' });
const statusOf = async (id: string) => (await t.db.sql`SELECT status FROM orders WHERE id = ${id}`)[0]!.status as string;

describe('scheduler', () => {
  test('a tick belongs to the slot of its schedule', () => {
    const slot = t.service.scheduler.slotOf('order-retries', new Date('2026-11-23T12:00:07.300Z'));
    expect(slot.toISOString()).toBe('2026-11-23T12:00:05.000Z');
  });

  test('two processes on one database: a slot runs once', async () => {
    const at = new Date();
    const [a, b] = await Promise.all([t.service.scheduler.tick('outbox-prune', at), peer.service.scheduler.tick('outbox-prune', at)]);
    expect([a.status, b.status].sort()).toEqual(['ran', 'skipped']);
    const rows = await t.db.sql`SELECT node, result FROM job_runs WHERE job = 'outbox-prune' AND slot = ${a.slot.toISOString()}`;
    expect(rows).toHaveLength(1);
    expect([t.service.node.incarnation, peer.service.node.incarnation]).toContain(rows[0]!.node);
    expect(rows[0]!.result).toEqual({ events: 0 });
  });

  test('a job never overlaps itself, even across processes; stop() waits for a run under way', async () => {
    let running = 0;
    let most = 0;
    let started!: () => void;
    const runStarted = new Promise<void>((resolve) => (started = resolve));
    let finish!: () => void;
    const finishing = new Promise<void>((resolve) => (finish = resolve));
    const slow: Job = {
      name: 'slow-test-job',
      schedule: '* * * * * *',
      run: async () => {
        most = Math.max(most, ++running);
        started();
        await finishing; // runs until the test lets it finish, then ends with a round trip
        await t.db.sql`SELECT 1`;
        running--;
        return { slept: 1 };
      },
    };
    const one = new Scheduler(t.db.sql, [slow], schedulerOptions());
    const two = new Scheduler(peer.db.sql, [slow], schedulerOptions());
    const first = one.tick('slow-test-job', new Date('2030-01-01T00:00:00Z'));
    await runStarted;
    const second = await two.tick('slow-test-job', new Date('2030-01-01T00:00:01Z')); // another slot, same job
    expect(second.status).toBe('skipped');
    const stopped = one.stop().then(() => running);
    finish();
    expect((await first).status).toBe('ran');
    expect(await stopped).toBe(0); // stop() waited for the run under way to end
    expect(most).toBe(1);
    expect((await one.tick('slow-test-job', new Date('2030-01-01T00:00:02Z'))).status).toBe('skipped'); // stopped
    expect((await two.tick('slow-test-job', new Date('2030-01-01T00:00:03Z'))).status).toBe('ran');
  });

  const jobLocksHeld = async () =>
    (await t.db.sql`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND classid = ${0x4a4f42} AND granted`)[0]!.n as number;

  test('a tick that finds its slot taken lets go of the job lock', async () => {
    let runs = 0;
    const job: Job = { name: 'skip-path-job', schedule: '* * * * * *', run: async () => ({ runs: ++runs }) };
    const one = new Scheduler(t.db.sql, [job], schedulerOptions());
    const two = new Scheduler(peer.db.sql, [job], schedulerOptions());
    const at = new Date('2030-02-01T00:00:00Z');
    expect((await one.tick(job.name, at)).status).toBe('ran');
    expect((await two.tick(job.name, at)).status).toBe('skipped'); // same slot: already run
    await waitFor(async () => (await jobLocksHeld()) === 0, 2000, 'no job lock left behind');
    expect((await two.tick(job.name, new Date('2030-02-01T00:00:01Z'))).status).toBe('ran');
    expect(runs).toBe(2);
  });

  test('a run that never ends: the tick settles at its timeout, and the job runs again once the lock times out', async () => {
    let calls = 0;
    const job: Job = {
      name: 'hanging-job',
      schedule: '* * * * * *',
      timeoutMs: 300,
      run: () => (++calls === 1 ? new Promise(() => {}) : Promise.resolve({ calls })),
    };
    const scheduler = new Scheduler(t.db.sql, [job], schedulerOptions());
    const started = performance.now();
    const first = await scheduler.tick(job.name, new Date('2030-03-01T00:00:00Z'));
    expect(first.status).toBe('failed');
    expect(performance.now() - started).toBeLessThan(1500);
    // Still running (for all the scheduler knows): no overlap while it holds the lock...
    expect((await scheduler.tick(job.name, new Date('2030-03-01T00:00:01Z'))).status).toBe('skipped');
    // ...but never for more than twice its timeout.
    await waitFor(async () => (await scheduler.tick(job.name, new Date(Date.now() + 86_400_000))).status === 'ran', 3000, 'the next run');
    await scheduler.stop();
  });

  test('a frozen lock holder (no keep-alive) loses the lock to the server, and another process runs the job', async () => {
    const frozenPool = connect(t.db.url, { max: 2, idleTransactionTimeoutMs: 400 });
    try {
      let ran = 0;
      let started!: () => void;
      const runStarted = new Promise<void>((resolve) => (started = resolve));
      // The scenario, not synchronisation: the first run takes long, while its process looks frozen.
      const long: Job = { name: 'frozen-holder-job', schedule: '* * * * * *', run: async () => (started(), await Bun.sleep(2500), { ran: ++ran }) };
      // A keep-alive far slower than the server's idle-in-transaction timeout: the process looks frozen.
      const frozen = new Scheduler(frozenPool.sql, [long], schedulerOptions({ lock: { acquireTimeoutMs: 2000, keepAliveMs: 60_000 } }));
      const healthy = new Scheduler(peer.db.sql, [long], schedulerOptions());
      const stuck = frozen.tick(long.name, new Date('2030-04-01T00:00:00Z'));
      await runStarted; // the job lock is taken before a run starts
      expect((await healthy.tick(long.name, new Date('2030-04-01T00:00:01Z'))).status).toBe('skipped'); // held
      // The server ends the holder's idle transaction (400 ms): its lock is gone.
      await waitFor(async () => (await jobLocksHeld()) === 0, 5_000, 'the server to end the frozen holder\'s session');
      expect((await healthy.tick(long.name, new Date('2030-04-01T00:00:02Z'))).status).toBe('ran');
      await stuck;
    } finally {
      await frozenPool.close(1);
    }
  }, 15_000);

  test('croner drives the ticks', async () => {
    let runs = 0;
    const job: Job = { name: 'cron-test-job', schedule: '* * * * * *', run: async () => ({ runs: ++runs }) };
    const scheduler = new Scheduler(t.db.sql, [job], schedulerOptions());
    scheduler.start();
    await waitFor(() => runs >= 2, 5000, 'two ticks');
    await scheduler.stop();
    const [row] = await t.db.sql`SELECT count(*)::int AS n FROM job_runs WHERE job = 'cron-test-job' AND finished_at IS NOT NULL`;
    expect(row!.n).toBeGreaterThanOrEqual(2);
  }, 10_000);
});

describe('sweeps (backdated rows, injected time)', () => {
  test('order-retries resumes due retries nobody holds, not those still waiting', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const later = await insertOrder(product.id, { nextAttemptAt: hours(1) });
    const due = await insertOrder(product.id, { nextAttemptAt: hours(-1) });
    const held = await insertOrder(product.id, { nextAttemptAt: hours(-1), leaseOwner: t.service.node.incarnation, leaseUntil: hours(1) });
    const run = await t.service.scheduler.tick('order-retries', new Date(), new Date());
    expect(run.counts!.resumed).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await statusOf(due)) === 'processed', 5000, 'the due order');
    expect(await statusOf(later)).toBe('pending');
    expect(await statusOf(held)).toBe('pending');
    const inTwoHours = await t.service.scheduler.tick('order-retries', hours(2), hours(2));
    expect(inTwoHours.counts!.resumed).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await statusOf(later)) === 'processed', 5000, 'the later order');
    expect(await statusOf(held)).toBe('pending'); // held by a live process: not a retry to take
  });

  test('lease-rescue takes orders whose lease expired or whose owner is gone', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const live = t.service.node.incarnation;
    const orphaned = await insertOrder(product.id, { leaseOwner: crypto.randomUUID(), leaseUntil: hours(1) }); // owner never registered
    const leased = await insertOrder(product.id, { leaseOwner: live, leaseUntil: hours(1) });
    const first = await t.service.scheduler.tick('lease-rescue', new Date(), new Date());
    expect(first.counts!.rescued).toBe(1);
    await waitFor(async () => (await statusOf(orphaned)) === 'processed', 5000, 'the orphaned order');
    expect(await statusOf(leased)).toBe('pending');
    const afterExpiry = await t.service.scheduler.tick('lease-rescue', hours(2), hours(2));
    expect(afterExpiry.counts!.rescued).toBeGreaterThanOrEqual(1);
    await waitFor(async () => (await statusOf(leased)) === 'processed', 5000, 'the expired lease');
    await expectStockConsistent(t.db.sql);
  });

  test('stuck-reservations releases reservations with no progress past the limit, with a log row saying why', async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    const old = await insertOrder(product.id, { status: 'reserved', updatedAt: hours(-2), quantity: 3, leaseOwner: t.service.node.incarnation, leaseUntil: hours(1) });
    const recent = await insertOrder(product.id, { status: 'reserved', updatedAt: new Date(), quantity: 2 });
    await t.db.sql`UPDATE inventory_levels SET reserved = 5 WHERE product_id = ${product.id}`;
    const run = await t.service.scheduler.tick('stuck-reservations', new Date(), new Date());
    expect(run.counts).toEqual({ released: 1 });
    expect(await statusOf(old)).toBe('failed');
    expect(await statusOf(recent)).toBe('reserved');
    expect((await t.api.get(`/api/v1/products/${product.id}/inventory`)).body).toMatchObject({ onHand: 10, reserved: 2 });
    const logs = (await t.api.get(`/api/v1/orders/${old}/logs`, 'client')).body.items;
    expect(logs.at(-1)).toMatchObject({ status: 'failed', message: 'reservation released: stuck in reserved for more than 60 min' });
    const [row] = await t.db.sql`SELECT reconcile_at IS NOT NULL AS owed FROM orders WHERE id = ${old}`;
    expect(row!.owed).toBe(true); // a charge may have landed: the reconciler will look
    await t.db.sql`UPDATE orders SET status = 'cancelled' WHERE id = ${recent}`;
    await t.db.sql`UPDATE inventory_levels SET reserved = 0 WHERE product_id = ${product.id}`;
  });

  test('payment-reconcile refunds a charge that landed on an order that did not go through', async () => {
    const product = await createProduct(t.api, { initialStock: 1 });
    const charged = await insertOrder(product.id, { status: 'failed' });
    const clean = await insertOrder(product.id, { status: 'cancelled' });
    await t.db.sql`UPDATE orders SET reconcile_at = now() - interval '1 minute' WHERE id IN (${charged}, ${clean})`;
    const gateway = t.service.gateway as SimulatedGateway;
    await gateway.charge({ idempotencyKey: chargeKey(charged), orderId: charged, amount: '1.00', currency: 'USD' });
    const run = await t.service.scheduler.tick('payment-reconcile', new Date(), new Date());
    expect(run.counts!.settled).toBeGreaterThanOrEqual(2);
    const rows = await t.db.sql`SELECT id, payment_status, reconcile_at FROM orders WHERE id IN (${charged}, ${clean})`;
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    expect(byId[charged]).toMatchObject({ payment_status: 'refunded', reconcile_at: null });
    // Nothing charged yet is not the end: a charge can still land, so it is looked at again later.
    expect(byId[clean]!.payment_status).toBeNull();
    expect(byId[clean]!.reconcile_at).not.toBeNull();
    const refundsOf = () => gateway.ledger.dump().refunds.filter((r) => r.chargeId === gateway.ledger.find(chargeKey(charged))!.id);
    expect(refundsOf()).toHaveLength(1);
    // Settled orders are not taken again: no second refund, however late the next sweep.
    await t.service.scheduler.tick('payment-reconcile', hours(1), hours(1));
    expect(refundsOf()).toHaveLength(1);
    expect((await t.db.sql`SELECT reconcile_at FROM orders WHERE id = ${charged}`)[0]!.reconcile_at).toBeNull();
    // Past its horizon, a look that still finds nothing ends it, and says so.
    await t.db.sql`UPDATE orders SET reconcile_at = now() - interval '1 second', reconcile_until = now() - interval '1 second' WHERE id = ${clean}`;
    await t.service.scheduler.tick('payment-reconcile', hours(2), new Date());
    expect((await t.db.sql`SELECT reconcile_at, attention FROM orders WHERE id = ${clean}`)[0]).toEqual({ reconcile_at: null, attention: null });
    const logs = (await t.api.get(`/api/v1/orders/${clean}/logs`, 'client')).body.items;
    expect(logs.at(-1).message).toBe('no charge appeared within the reconcile horizon; nothing to refund');
  });

  test('idempotency-prune drops keys older than 24 hours, a capped batch at a time', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const fresh = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { key: 'prune-fresh' });
    const stale = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { key: 'prune-stale' });
    await orderReaches(t.api, stale.body.id, ['processed']);
    await t.db.sql`UPDATE orders SET created_at = now() - interval '25 hours' WHERE idempotency_key = 'prune-stale'`;
    const run = await t.service.scheduler.tick('idempotency-prune', new Date(), new Date());
    expect(run.counts!.deleted).toBeGreaterThanOrEqual(1);
    const keys = (await t.db.sql`SELECT idempotency_key FROM orders WHERE idempotency_key LIKE 'prune-%'`).map((r) => r.idempotency_key);
    expect(keys).toEqual(['prune-fresh']);
    expect(await statusOf(stale.body.id)).toBe('processed'); // the order itself stays
    expect(fresh.status).toBe(202);
  });

  test('outbox-prune drops events past their retention; job-history-prune old slot records', async () => {
    await t.db.sql`INSERT INTO events (changes, created_at) VALUES ('[{"type":"old"}]', now() - interval '4 days'), ('[{"type":"recent"}]', now())`;
    await t.db.sql`INSERT INTO job_runs (job, slot, node) VALUES ('ancient', now() - interval '2 days', ${crypto.randomUUID()})`;
    const run = await t.service.scheduler.tick('outbox-prune', hours(-1), new Date());
    expect(run.counts!.events).toBeGreaterThanOrEqual(1);
    const history = await t.service.scheduler.tick('job-history-prune', hours(-1), new Date());
    expect(history.counts!.deleted).toBeGreaterThanOrEqual(1);
    const kinds = (await t.db.sql`SELECT changes->0->>'type' AS type FROM events WHERE changes->0->>'type' IN ('old', 'recent')`).map((r) => r.type);
    expect(kinds).toEqual(['recent']);
    expect((await t.db.sql`SELECT count(*)::int AS n FROM job_runs WHERE job = 'ancient'`)[0]!.n).toBe(0);
  });

  test('warehouse-sync in two processes: one run per slot', async () => {
    const before = (await t.db.sql`SELECT count(*)::int AS n FROM sync_runs`)[0]!.n;
    const at = new Date('2031-05-05T10:05:00Z');
    const outcomes = await Promise.all([t.service.scheduler.tick('warehouse-sync', at), peer.service.scheduler.tick('warehouse-sync', at)]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['ran', 'skipped']);
    expect((await t.db.sql`SELECT count(*)::int AS n FROM sync_runs`)[0]!.n).toBe(before + 1);
  });

  test('warehouse-sync runs as a job, and its counts are the run', async () => {
    const run = await t.service.scheduler.tick('warehouse-sync', new Date());
    expect(run.status).toBe('ran');
    expect(run.counts!.checked).toBeGreaterThan(0);
    const [row] = await t.db.sql`SELECT trigger, status FROM sync_runs ORDER BY id DESC LIMIT 1`;
    expect(row).toEqual({ trigger: 'schedule', status: 'succeeded' });
  });
});
