import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createWebhookReceiver } from '../src/modules/webhooks/receiver.ts';
import { orderRecord, writeRecord } from './support/outbox.ts';
import { quietJobs, startTestService, type TestService } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * Outbound safety with the default policy (WEBHOOK_ALLOW_PRIVATE unset). DNS is the one thing
 * replaced: `hooks.example` resolves to whatever the test says, as a name under someone else's
 * control would (a public address when the subscription is made, 127.0.0.1 later).
 */
const PUBLIC = '93.184.215.14';
const dns = new Map<string, string[]>([['hooks.example', [PUBLIC]]]);
let t: TestService;
const local = createWebhookReceiver();
beforeAll(async () => {
  t = await startTestService(
    { ...quietJobs, WEBHOOK_POLL_MS: '20', WEBHOOK_RETRY_BASE_MS: '60000', WEBHOOK_TIMEOUT_MS: '500' },
    {
      serviceOptions: {
        resolve: async (host) => {
          const addresses = dns.get(host);
          if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
          return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
        },
      },
    },
  );
});
afterAll(async () => {
  local.stop();
  await t.close();
});

const create = (url: string) => t.api.post('/api/v1/webhooks', { url, events: ['order.created'] });

describe('at creation', () => {
  test('loopback, private, link-local, CGNAT, multicast, unspecified and IPv4-mapped addresses are 422', async () => {
    dns.set('inside.example', ['10.1.2.3']);
    dns.set('both.example', [PUBLIC, '::1']);
    const refused = [
      'http://127.0.0.1/hook',
      'http://127.1.2.3:8080/hook',
      'http://2130706433/hook', // 127.0.0.1 written as a number
      'http://localhost:3000/hook',
      'http://api.localhost/hook',
      'http://[::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[::ffff:a9fe:a9fe]/hook', // 169.254.169.254, mapped
      'http://169.254.169.254/latest/meta-data',
      'http://10.0.0.1/hook',
      'http://172.16.5.4/hook',
      'http://192.168.1.1/hook',
      'http://100.64.0.1/hook',
      'http://[fd00::1]/hook',
      'http://[fe80::1]/hook',
      'http://224.0.0.1/hook',
      'http://0.0.0.0/hook',
      'http://[::]/hook',
      'http://inside.example/hook', // a name resolving to a private address
      'http://both.example/hook', // one address of several is enough
      'http://nowhere.example/hook', // does not resolve
    ];
    for (const url of refused) {
      const reply = await create(url);
      expect(reply.status, url).toBe(422);
      expect(reply.body.errors[0].path, url).toBe('body.url');
    }
    expect((await t.db.sql`SELECT count(*)::int AS n FROM webhooks`)[0]!.n).toBe(0);
    expect((await create(`https://hooks.example/stockroom`)).status).toBe(201);
    expect((await create(`http://${PUBLIC}:8080/x`)).status).toBe(201);
  });

  test('a PATCH to such a URL is refused the same way', async () => {
    const hook = (await create('https://hooks.example/patched')).body;
    const reply = await t.api.patch(`/api/v1/webhooks/${hook.id}`, { url: 'http://127.0.0.1:9/x' });
    expect(reply.status).toBe(422);
    expect((await t.api.get(`/api/v1/webhooks/${hook.id}`)).body.url).toBe('https://hooks.example/patched');
  });
});

describe('at delivery', () => {
  test('a name that resolves to 127.0.0.1 by then is refused, and nothing reaches the local receiver', async () => {
    dns.set('moving.example', [PUBLIC]);
    const hook = (await create(`http://moving.example:${local.port}/hooks`)).body;
    expect(hook.id).toEqual(expect.any(String));
    dns.set('moving.example', ['127.0.0.1']);
    await writeRecord(t.db.sql, { v: 2, orders: [orderRecord('01900000-0000-7000-8000-00000000f00d', 'pending', null, 1)] });
    const delivery = await waitFor(async () => {
      const [d] = (await t.api.get(`/api/v1/webhooks/${hook.id}/deliveries`)).body.items;
      return d?.attempts >= 1 ? d : undefined;
    }, 5_000, 'the attempt');
    expect(delivery).toMatchObject({ status: 'pending', responseStatus: null, lastError: expect.stringContaining('refused: moving.example resolves to 127.0.0.1') });
    expect(local.received).toHaveLength(0);
    await t.api.delete(`/api/v1/webhooks/${hook.id}`);
  });
});
