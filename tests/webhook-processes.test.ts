import { afterAll, expect, test } from 'bun:test';
import { createWebhookReceiver, type ReceivedDelivery } from '../src/modules/webhooks/receiver.ts';
import { freshDatabase } from './support/cluster.ts';
import { writeOrderLife } from './support/outbox.ts';
import { freePort, spawnService, type ServiceProcess } from './support/process.ts';
import { Api, tokens } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * Real service processes (`bun src/main.ts`) delivering to a slow receiver: one is killed with
 * SIGKILL while deliveries are in flight, then it and a second process share the rest.
 */
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

test(
  'kill -9 mid-delivery loses nothing: every event arrives, each order in order, repeats only of what was in flight',
  async () => {
    const db = await freshDatabase();
    cleanups.push(() => db.drop());
    const received: ReceivedDelivery[] = [];
    const receiver = createWebhookReceiver({
      respond: async (delivery) => {
        await Bun.sleep(150); // the scenario: a slow receiver, so that deliveries are in flight when a process is killed
        received.push(delivery); // counted once answered: what the receiver acknowledged
        return new Response(null, { status: 204 });
      },
    });
    cleanups.push(async () => receiver.stop());
    const env = (nodeId: string): Record<string, string> => ({
      DATABASE_URL: db.url,
      NODE_ID: nodeId,
      ADMIN_TOKEN: tokens.admin,
      CLIENT_TOKEN: tokens.client,
      DATA_DIR: `.test-data/${nodeId}`,
      DB_POOL_MAX: '6',
      HEARTBEAT_MS: '200',
      HEARTBEAT_TTL_MS: '1000',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_POLL_MS: '50',
      WEBHOOK_RETRY_BASE_MS: '50',
      WEBHOOK_RETRY_MAX_MS: '1000',
      WEBHOOK_MAX_IN_FLIGHT: '8',
    });
    const track = (service: ServiceProcess) => {
      cleanups.push(async () => {
        service.proc.kill('SIGKILL');
        await service.proc.exited;
      });
      return service;
    };
    const port = await freePort();
    let a = track(await spawnService(env('hook-a'), { port }));
    const api = Api.forUrl(a.base);
    const hook = await api.post('/api/v1/webhooks', { url: receiver.url, events: ['order.created', 'order.reserved', 'order.processed'] });
    expect(hook.status).toBe(201);
    const orders = Array.from({ length: 40 }, (_, i) => `01900000-0000-7000-8000-${(9000 + i).toString().padStart(12, '0')}`);
    for (const id of orders) await writeOrderLife(db.sql, id);

    await waitFor(() => receiver.received.length >= 20, 20_000, 'deliveries under way');
    const inFlight = receiver.received.length - received.length;
    a.proc.kill('SIGKILL');
    await a.proc.exited;
    a = track(await spawnService(env('hook-a'), { port })); // the same node: its old leases are void at once
    track(await spawnService(env('hook-b')));

    const total = orders.length * 3;
    await waitFor(async () => (await db.sql`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'succeeded'`)[0]!.n === total, 60_000, 'every delivery succeeded');
    const ids = new Set(received.map((r) => r.id));
    expect(ids.size).toBe(total); // nothing lost
    for (const id of orders) {
      const firsts = received.filter((r) => r.payload!.data.id === id).map((r) => r.payload!.type).filter((type, i, all) => all.indexOf(type) === i);
      expect(firsts).toEqual(['order.created', 'order.reserved', 'order.processed']);
    }
    // A repeat is only an event whose answer the killed process never recorded.
    expect(received.length - total).toBeLessThanOrEqual(Math.max(inFlight, 8));
    console.log(`webhook kill test: ${total} events, ${received.length} answered deliveries, ${inFlight} in flight at the kill`);
  },
  120_000,
);
