import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { expandRow, type EventRow } from '../src/modules/events/records.ts';
import { webhookEvents } from '../src/modules/webhooks/event-map.ts';
import { customerSecret, customerToken } from './support/credentials.ts';
import { collectEvents, streamOpened } from './support/events.ts';
import { expireIn, inventory, placeHold } from './support/holds.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { createProduct, orderReaches, placeOrder, quietJobs, startTestService, tokens, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * Expiry. Holds expire by the database clock (every process agrees on it, as leases do), so these
 * tests move a hold's `expires_at` instead of waiting, and run the expiry sweep themselves: this
 * service has no timer (`background: false`), no periodic job, and slow order retries, so nothing
 * gives stock back unless the test or the feature under test does. The last block runs the real
 * timer once, for the 2 s bound.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService({ ...quietJobs, RETRY_BASE_MS: '60000', RETRY_MAX_MS: '60000', CUSTOMER_JWT_SECRET: customerSecret }, { background: false });
});
afterAll(async () => {
  await expectStockConsistent(t.db.sql);
  await t.close();
});

const sweep = () => t.service.holds.expiry.sweep();
const holdOf = async (id: string) => (await t.api.get(`/api/v1/holds/${id}`, 'client')).body;
/** The `hold.expired` records of the outbox for this hold (each one is an event). */
const expiredRecords = async (holdId: string) =>
  (await t.db.sql`SELECT count(*)::int AS n FROM events e, json_array_elements(e.changes->'holds') h WHERE h->>'id' = ${holdId}`)[0]!.n as number;
const storedStatus = async (id: string) => (await t.db.sql`SELECT status FROM holds WHERE id = ${id}`)[0]!.status as string;

describe('expired from expiresAt on', () => {
  test('the hold reads expired in every answer from its expiry on; the sweep gives its stock back once, and hold.expired is written once', async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const made = (await placeHold(t.api, [{ productId: product.id, quantity: 4 }], { customerId: 'ivy' })).body;
    await expireIn(t.db.sql, made.id, 60_000);
    expect(await sweep()).toBe(0); // not before its time
    expect((await holdOf(made.id)).status).toBe('active');

    await expireIn(t.db.sql, made.id, 0);
    expect((await holdOf(made.id)).status).toBe('expired');
    expect((await t.api.get(`/api/v1/holds?productId=${product.id}`, 'client')).body.items.map((h: { status: string }) => h.status)).toEqual(['expired']);
    expect(await storedStatus(made.id)).toBe('active'); // its stock is still held: no one has given it back yet
    expect(await inventory(t.api, product.id)).toMatchObject({ reserved: 4, held: 4 });

    expect(await sweep()).toBe(1);
    expect(await storedStatus(made.id)).toBe('expired');
    expect(await inventory(t.api, product.id)).toMatchObject({ onHand: 5, reserved: 0, held: 0, available: 5 });
    expect(await sweep()).toBe(0);
    // The product holds units again, and a reservation finds too little: the expired hold is not given back twice.
    const next = (await placeHold(t.api, [{ productId: product.id, quantity: 5 }])).body;
    expect((await placeOrder(t.api, [{ productId: product.id, quantity: 1 }])).body.status).toBe('pending');
    expect(await expiredRecords(made.id)).toBe(1);
    expect(await inventory(t.api, product.id)).toMatchObject({ reserved: 5, held: 5 });
    await t.api.delete(`/api/v1/holds/${next.id}`, 'client');
    await expectStockConsistent(t.db.sql);
  });

  test('a hold over two products is given back at both, by a sweep that locks both', async () => {
    const shirt = await createProduct(t.api, { initialStock: 3 });
    const mug = await createProduct(t.api, { initialStock: 3 });
    const made = (await placeHold(t.api, [{ productId: shirt.id, quantity: 3 }, { productId: mug.id, quantity: 2 }])).body;
    await expireIn(t.db.sql, made.id, -1);
    expect(await sweep()).toBe(1);
    expect(await inventory(t.api, shirt.id)).toMatchObject({ reserved: 0, held: 0 });
    expect(await inventory(t.api, mug.id)).toMatchObject({ reserved: 0, held: 0 });
    expect(await expiredRecords(made.id)).toBe(1);
  });
});

describe('a reservation that finds stock short first gives back the expired holds (in its own batch, no sweep)', () => {
  test('order intake: the order is born reserved with the expired hold\'s units', async () => {
    const product = await createProduct(t.api, { initialStock: 3 });
    const made = (await placeHold(t.api, [{ productId: product.id, quantity: 3 }])).body;
    await expireIn(t.db.sql, made.id, -1);
    const reply = await placeOrder(t.api, [{ productId: product.id, quantity: 2 }]);
    expect(reply.body.status).toBe('reserved');
    expect(await storedStatus(made.id)).toBe('expired');
    expect(await expiredRecords(made.id)).toBe(1);
    await orderReaches(t.api, reply.body.id, ['processed']);
    expect(await inventory(t.api, product.id)).toMatchObject({ onHand: 1, reserved: 0, held: 0 });
  });

  test('another hold: 201 with the expired hold\'s units', async () => {
    const product = await createProduct(t.api, { initialStock: 3 });
    const made = (await placeHold(t.api, [{ productId: product.id, quantity: 3 }])).body;
    await expireIn(t.db.sql, made.id, -1);
    const next = await placeHold(t.api, [{ productId: product.id, quantity: 3 }]);
    expect(next.status).toBe(201);
    expect(await storedStatus(made.id)).toBe('expired');
    expect(await inventory(t.api, product.id)).toMatchObject({ reserved: 3, held: 3 });
  });

  test("an order's reservation retry: the pending order is reserved with the expired hold's units", async () => {
    const product = await createProduct(t.api, { initialStock: 3 });
    const made = (await placeHold(t.api, [{ productId: product.id, quantity: 3 }])).body;
    const waiting = await placeOrder(t.api, [{ productId: product.id, quantity: 3 }]);
    expect(waiting.body.status).toBe('pending');
    await expireIn(t.db.sql, made.id, -1);
    // The retry is a minute away: the sweep of due orders runs it now, as of then.
    await t.service.orders.worker.sweep(new Date(Date.now() + 120_000), 'due');
    await orderReaches(t.api, waiting.body.id, ['processed']);
    expect(await storedStatus(made.id)).toBe('expired');
    expect(await expiredRecords(made.id)).toBe(1);
  });

  test('a hold made by another process, whose units this one did not know were held', async () => {
    const other = await startTestService({ ...quietJobs }, { db: t.db, background: false });
    try {
      const product = await createProduct(t.api, { initialStock: 2 });
      expect((await placeOrder(t.api, [{ productId: product.id, quantity: 1 }])).body.status).toBe('reserved'); // this process has seen the product, with nothing held
      const made = (await placeHold(other.api, [{ productId: product.id, quantity: 1 }])).body;
      await expireIn(t.db.sql, made.id, -1);
      expect((await placeOrder(t.api, [{ productId: product.id, quantity: 1 }])).body.status).toBe('reserved');
      expect(await storedStatus(made.id)).toBe('expired');
    } finally {
      await other.close();
    }
  });
});

describe('hold.expired', () => {
  test('once per hold, also when two processes give back the same expired holds at the same moment', async () => {
    const other = await startTestService({ ...quietJobs }, { db: t.db, background: false });
    try {
      const product = await createProduct(t.api, { initialStock: 10 });
      const made = await Promise.all(Array.from({ length: 10 }, () => placeHold(t.api, [{ productId: product.id, quantity: 1 }])));
      await t.db.sql`UPDATE holds SET expires_at = now() - interval '1 millisecond' WHERE id = ANY(${made.map((m) => m.body.id)}::uuid[])`;
      const [here, there] = await Promise.all([sweep(), other.service.holds.expiry.sweep()]);
      expect(here + there).toBe(10);
      for (const { body } of made) expect(await expiredRecords(body.id)).toBe(1);
      expect(await inventory(t.api, product.id)).toMatchObject({ reserved: 0, held: 0 });
    } finally {
      await other.close();
    }
  });

  test("reaches the event stream (its customer's token too, not another customer's) and maps to a hold.expired webhook with the Hold", async () => {
    const product = await createProduct(t.api, { initialStock: 5 });
    const made = (await placeHold(t.api, [{ productId: product.id, quantity: 2 }], { customerId: 'jack' })).body;
    const hub = t.service.services.events;
    const open = hub.size;
    const isIt = (e: { event: string; data: Record<string, unknown> }) => e.event === 'hold.expired' && e.data.id === made.id;
    const admin = collectEvents(t.service.app, tokens.client, (events) => events.some(isIt));
    const jack = collectEvents(t.service.app, await customerToken('jack'), (events) => events.some(isIt));
    const kim = collectEvents(t.service.app, await customerToken('kim'), (events) => events.some((e) => e.event === 'inventory.changed' && e.data.productId === product.id && e.data.held === 0));
    await streamOpened(hub, open + 2);
    await expireIn(t.db.sql, made.id, -1);
    await sweep();
    const [seen, own, others] = await Promise.all([admin, jack, kim]);
    expect(seen.find(isIt)!.data).toMatchObject({ id: made.id, customerId: 'jack', status: 'expired', items: made.items, expiresAt: expect.any(String) });
    expect(own.some(isIt)).toBe(true);
    expect(others.some((e) => e.event.startsWith('hold.'))).toBe(false);

    const [row] = await t.db.sql<EventRow[]>`
      SELECT tx::text, id::text, changes, created_at AS "createdAt" FROM events e WHERE EXISTS (SELECT 1 FROM json_array_elements(e.changes->'holds') h WHERE h->>'id' = ${made.id})`;
    const webhooks = expandRow(row!).flatMap((event) => webhookEvents(event, new Map()));
    const hook = webhooks.find((w) => w.type === 'hold.expired')!;
    expect(hook).toMatchObject({ key: `hold:${made.id}`, data: { id: made.id, status: 'expired', orderId: null } });
  }, 15_000);
});

describe('the real timer', () => {
  test('with no request in between, the stock of each expired hold is back within its expiresAt + 2 s, not before', async () => {
    const live = await startTestService({ ...quietJobs }, { db: t.db });
    try {
      const product = await createProduct(live.api, { initialStock: 6 });
      const made = await Promise.all(Array.from({ length: 6 }, () => placeHold(live.api, [{ productId: product.id, quantity: 1 }])));
      // Expiries half a second apart, over 2.5 s: whatever the phase of the timer, some expire just after one of its looks.
      for (const [i, { body }] of made.entries()) await expireIn(t.db.sql, body.id, 1_000 + i * 500);
      // Watched in the database only: no request, no reservation that could give them back.
      await waitFor(
        async () => (await t.db.sql`SELECT held FROM location_levels WHERE product_id = ${product.id}`)[0]!.held === 0,
        10_000,
        'the held units to come back',
      );
      // A hold's stock comes back in the transaction that marks it expired: its updated_at is that moment.
      const late = await t.db.sql`SELECT status, extract(epoch FROM updated_at - expires_at) * 1000 AS "afterExpiryMs" FROM holds WHERE items @> ${JSON.stringify([{ productId: product.id }])}::jsonb`;
      expect(late.map((h) => h.status)).toEqual(Array(6).fill('expired'));
      for (const { afterExpiryMs } of late) {
        expect(Number(afterExpiryMs)).toBeGreaterThanOrEqual(0);
        expect(Number(afterExpiryMs)).toBeLessThan(2_000);
      }
    } finally {
      await live.close();
    }
  }, 20_000);
});
