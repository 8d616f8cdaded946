import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { spawn } from 'bun';
import { createWebhookReceiver } from '../src/modules/webhooks/receiver.ts';
import { orderRecord, webhookSettled, writeRecord } from './support/outbox.ts';
import { freePort, ROOT } from './support/process.ts';
import { createProduct, orderReaches, placeOrder, quietJobs, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * The whole way: orders placed over HTTP, stock moved by the service's own writers, a sync run;
 * a subscription's receiver gets the events. The order and stock writers of this build may still
 * write outbox rows from before format 2 (records.ts): where a check needs a format-2 snapshot it
 * looks at the row first, and says so (to be made strict once every writer writes format 2).
 */
let t: TestService;
const receiver = createWebhookReceiver();
let hook: { id: string; secret: string };
beforeAll(async () => {
  t = await startTestService({ ...quietJobs, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '20', WAREHOUSE_DRIFT_INTERVAL_MS: '0' });
  hook = (await t.api.post('/api/v1/webhooks', { url: receiver.url, events: ['order.created', 'order.reserved', 'order.processed', 'order.cancelled', 'inventory.changed', 'inventory.low', 'inventory.out_of_stock', 'warehouse.sync.completed'] })).body;
});
afterAll(async () => {
  receiver.stop();
  await t.close();
});

/** Whether the writers of this build write format-2 records (a snapshot per change). */
const eventsOf = (type: string, match: (data: Record<string, unknown>) => boolean) => receiver.received.filter((r) => r.payload?.type === type && match(r.payload.data));

describe('over HTTP', () => {
  test('an order placed over HTTP reaches the receiver as order.created, then its status changes, in order', async () => {
    const product = await createProduct(t.api, { initialStock: 10 });
    const placed = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: 'hooked' });
    expect(placed.status).toBe(202);
    const order = await orderReaches(t.api, placed.body.id, ['processed']);
    await waitFor(() => eventsOf('order.processed', (d) => d.id === order.id).length === 1, 10_000, 'order.processed');
    const types = receiver.received.filter((r) => r.payload?.data.id === order.id).map((r) => r.payload!.type);
    expect(types).toEqual(['order.created', 'order.reserved', 'order.processed']);
    // Each event is the Order as it was at that commit: born reserved, then paid.
    const [created] = eventsOf('order.created', (d) => d.id === order.id);
    expect(created!.payload!.data).toMatchObject({ id: order.id, status: 'reserved', customerId: 'hooked', items: order.items, total: order.total, createdAt: order.createdAt, payment: null });
    const [processed] = eventsOf('order.processed', (d) => d.id === order.id);
    expect(processed!.payload!.data).toEqual(order);
  });

  test('stock falling across a product\'s threshold and to zero: inventory.low and inventory.out_of_stock once each', async () => {
    const product = await createProduct(t.api, { initialStock: 3, lowStockThreshold: 1 });
    for (let i = 0; i < 3; i++) {
      const placed = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: `low-${i}` });
      await orderReaches(t.api, placed.body.id, ['processed']);
    }
    await waitFor(() => eventsOf('inventory.changed', (d) => d.productId === product.id && d.onHand === 0).length > 0, 10_000, 'the last inventory change');
    await waitFor(() => webhookSettled(t.db.sql, hook.id), 10_000, 'the subscription to have nothing more to send');
    const changed = eventsOf('inventory.changed', (d) => d.productId === product.id);
    expect(changed.length).toBeGreaterThan(0);
    expect(changed.at(-1)!.payload!.data).toMatchObject({ productId: product.id, onHand: 0, reserved: 0, available: 0 });
    expect(eventsOf('inventory.low', (d) => d.productId === product.id)).toHaveLength(1);
    expect(eventsOf('inventory.out_of_stock', (d) => d.productId === product.id)).toHaveLength(1);
  });

  test('a warehouse sync run reaches the receiver as warehouse.sync.completed with the SyncRun', async () => {
    const run = await t.api.post('/api/v1/warehouse/sync');
    expect(run.status).toBe(200);
    const [got] = await waitFor(() => {
      const found = eventsOf('warehouse.sync.completed', (d) => d.id === run.body.id);
      return found.length > 0 ? found : undefined;
    }, 10_000, 'warehouse.sync.completed');
    expect(got!.payload!.data).toEqual(run.body);
  });
});

describe('bun run webhook-receiver', () => {
  test('prints what it gets and verifies it with WEBHOOK_SECRET (the README\'s two-command loop)', async () => {
    const port = await freePort();
    const created = await t.api.post('/api/v1/webhooks', { url: `http://127.0.0.1:${port}/hooks`, events: ['order.created'] });
    const proc = spawn(['bun', 'run', 'webhook-receiver'], { cwd: ROOT, env: { ...process.env, WEBHOOK_SECRET: created.body.secret, RECEIVER_PORT: String(port) }, stdout: 'pipe' });
    let output = '';
    void (async () => {
      const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) output += new TextDecoder().decode(chunk.value);
    })();
    try {
      await waitFor(() => output.includes('webhook receiver on'), 10_000, 'the receiver to listen');
      await writeRecord(t.db.sql, { v: 2, orders: [orderRecord('01900000-0000-7000-8000-0000000e2e01', 'pending', null, 1)] });
      await waitFor(() => output.includes('signature ok'), 10_000, 'a verified delivery');
      expect(output).toMatch(/order\.created {2}webhook-id \d+-\d+-0\.order\.created {2}\(signature ok\)/);
      expect(output).toContain('"id":"01900000-0000-7000-8000-0000000e2e01"');
    } finally {
      proc.kill();
      await proc.exited;
      await t.api.delete(`/api/v1/webhooks/${created.body.id}`);
    }
  });
});
