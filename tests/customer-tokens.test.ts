import { statusOf } from '../src/http/errors.ts';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { base64url, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { CustomerTokens } from '../src/http/customer-tokens.ts';
import { AppError } from '../src/lib/errors.ts';
import { freePort } from './support/process.ts';
import { customerSecret, customerToken } from './support/credentials.ts';
import { collectEvents, streamOpened } from './support/events.ts';
import { createProduct, orderReaches, placeOrder, startTestService, type TestService } from './support/service.ts';

/**
 * Customer tokens: HS256 with CUSTOMER_JWT_SECRET, RS256 and EdDSA from a JWKS the shop serves (a
 * real HTTP server here), and what a token may do: its own customer's orders and nothing else.
 */
let t: TestService;
let jwks: ReturnType<typeof Bun.serve>;
const rsa = await generateKeyPair('RS256');
const ed = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
const stranger = await generateKeyPair('RS256');
let rsaPublic: JWK;

beforeAll(async () => {
  rsaPublic = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
  const edPublic = { ...(await exportJWK(ed.publicKey)), kid: 'ed-1', alg: 'EdDSA', use: 'sig' };
  jwks = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => Response.json({ keys: [rsaPublic, edPublic] }) });
  t = await startTestService({
    CUSTOMER_JWT_SECRET: customerSecret,
    CUSTOMER_JWKS_URL: `http://127.0.0.1:${jwks.port}/.well-known/jwks.json`,
    CUSTOMER_JWT_CLOCK_SKEW_S: '30',
  });
});
afterAll(async () => {
  await t.close();
  jwks.stop(true);
});

const now = () => Math.floor(Date.now() / 1000);
const me = (token: string) => t.api.get('/api/v1/me', token);
const signed = (claims: Record<string, unknown>, alg: string, kid?: string) => new SignJWT(claims).setProtectedHeader(kid ? { alg, kid } : { alg });

describe('which customer tokens are accepted', () => {
  test('HS256 with the shared secret, RS256 and EdDSA from the JWKS', async () => {
    expect((await me(await customerToken('cust-hs'))).body).toMatchObject({ kind: 'customer', role: 'customer', customerId: 'cust-hs' });
    const rs = await signed({ sub: 'cust-rs', exp: now() + 60 }, 'RS256', 'rsa-1').sign(rsa.privateKey);
    expect((await me(rs)).body).toMatchObject({ role: 'customer', customerId: 'cust-rs' });
    const eddsa = await signed({ sub: 'cust-ed', exp: now() + 60 }, 'EdDSA', 'ed-1').sign(ed.privateKey);
    expect((await me(eddsa)).body).toMatchObject({ role: 'customer', customerId: 'cust-ed' });
  });

  test('expired beyond the clock skew: 401; within it: accepted; without exp: 401', async () => {
    const expired = await me(await customerToken('cust-x', { expiresInSeconds: -120 }));
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toBe('Bearer');
    expect(expired.body.detail).toContain('exp');
    expect((await me(await customerToken('cust-x', { expiresInSeconds: -10 }))).status).toBe(200);
    const noExp = await signed({ sub: 'cust-x' }, 'HS256').sign(new TextEncoder().encode(customerSecret));
    expect((await me(noExp)).status).toBe(401);
  });

  test('forged: another HS256 secret, another RSA key under a known kid, a changed payload', async () => {
    expect((await me(await customerToken('cust-x', { secret: 'another-secret-that-is-at-least-32-bytes-long' }))).status).toBe(401);
    expect((await me(await signed({ sub: 'cust-x', exp: now() + 60 }, 'RS256', 'rsa-1').sign(stranger.privateKey))).status).toBe(401);
    const [header, , signature] = (await customerToken('cust-a')).split('.');
    const payload = base64url.encode(JSON.stringify({ sub: 'cust-b', exp: now() + 60 }));
    expect((await me(`${header}.${payload}.${signature}`)).status).toBe(401);
  });

  test('alg none and an HS256 token keyed with the RSA public key (algorithm confusion) are refused', async () => {
    const claims = base64url.encode(JSON.stringify({ sub: 'cust-x', exp: now() + 60 }));
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${claims}.`;
    expect((await me(none)).status).toBe(401);
    // The classic attack: sign HS256 with the public key's bytes, hoping the verifier uses them as an HMAC key.
    for (const publicBytes of [JSON.stringify(rsaPublic), rsaPublic.n!]) {
      const confused = await signed({ sub: 'cust-x', exp: now() + 60 }, 'HS256', 'rsa-1').sign(new TextEncoder().encode(publicBytes));
      expect((await me(confused)).status).toBe(401);
    }
    // And the reverse: an RS256 header on a token MACed with the shared secret.
    const [, body, mac] = (await customerToken('cust-x')).split('.');
    expect((await me(`${base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'rsa-1' }))}.${body}.${mac}`)).status).toBe(401);
  });

  test('each key source accepts its own algorithms only; an unreachable JWKS is a 503, not a 401', async () => {
    const rs = await signed({ sub: 'cust-x', exp: now() + 60 }, 'RS256', 'rsa-1').sign(rsa.privateKey);
    const secretOnly = new CustomerTokens({ secret: customerSecret, jwksUrl: undefined, clockSkewSeconds: 30 });
    expect(await secretOnly.verify(rs).catch((e: AppError) => statusOf(e))).toBe(401);
    const unreachable = new CustomerTokens({ secret: undefined, jwksUrl: `http://127.0.0.1:${await freePort()}/jwks`, clockSkewSeconds: 30 });
    expect(await unreachable.verify(await customerToken('cust-x')).catch((e: AppError) => statusOf(e))).toBe(401);
    expect(await unreachable.verify(rs).catch((e: AppError) => statusOf(e))).toBe(503);
  });

  test('over HTTP a token that cannot be verified now is 503 with Retry-After', async () => {
    const down = await startTestService({ CUSTOMER_JWKS_URL: `http://127.0.0.1:${await freePort()}/jwks` }, { db: t.db, background: false });
    try {
      const rs = await signed({ sub: 'cust-x', exp: now() + 60 }, 'RS256', 'rsa-1').sign(rsa.privateKey);
      const reply = await down.api.get('/api/v1/me', rs);
      expect(reply.status).toBe(503);
      expect(reply.headers.get('retry-after')).toBe('5');
    } finally {
      await down.close();
    }
  });

  test('a sub that cannot be a customer id is refused', async () => {
    expect((await me(await customerToken('x'.repeat(101)))).status).toBe(401);
    expect((await me(await customerToken('line\nbreak'))).status).toBe(401);
  });
});

describe('what a customer token may do', () => {
  let product: { id: string };
  let mine: string;
  let theirs: string;
  let token: string;
  beforeAll(async () => {
    product = await createProduct(t.api, { initialStock: 10 });
    token = await customerToken('alice');
    theirs = (await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: 'bob' })).body.id;
  });

  test('places orders for its own customer only', async () => {
    const own = await t.api.post('/api/v1/orders', { customerId: 'alice', items: [{ productId: product.id, quantity: 1 }] }, token);
    expect(own.status).toBe(202);
    mine = own.body.id;
    const other = await t.api.post('/api/v1/orders', { customerId: 'bob', items: [{ productId: product.id, quantity: 1 }] }, token);
    expect(other.status).toBe(403);
    expect((await t.db.sql`SELECT count(*)::int AS n FROM orders WHERE customer_id = 'bob'`)[0]!.n).toBe(1);
  });

  test("lists and reads its own orders; another customer's order is 404, not 403", async () => {
    const list = await t.api.get('/api/v1/orders', token);
    expect(list.body.items.map((o: { id: string }) => o.id)).toEqual([mine]);
    expect((await t.api.get('/api/v1/orders?customerId=bob', token)).body.items).toEqual([]);
    expect((await t.api.get(`/api/v1/orders/${mine}`, token)).status).toBe(200);
    expect((await t.api.get(`/api/v1/orders/${mine}/logs`, token)).status).toBe(200);
    expect((await t.api.get(`/api/v1/orders/${theirs}`, token)).status).toBe(404);
    expect((await t.api.get(`/api/v1/orders/${theirs}/logs`, token)).status).toBe(404);
    expect((await t.api.post(`/api/v1/orders/${theirs}/cancel`, undefined, token)).status).toBe(404);
    expect((await t.api.get(`/api/v1/orders/${theirs}`, 'client')).body.status).not.toBe('cancelled');
  });

  test('cancels its own order; catalog reads as anonymous; anything else is 403', async () => {
    await orderReaches(t.api, mine, ['processed']);
    expect((await t.api.post(`/api/v1/orders/${mine}/cancel`, undefined, token)).body.status).toBe('cancelled');
    expect((await t.api.get(`/api/v1/products/${product.id}`, token)).status).toBe(200);
    expect((await t.api.get('/api/v1/orders/counts', token)).status).toBe(403);
    expect((await t.api.post('/api/v1/categories', { name: 'nope' }, token)).status).toBe(403);
    expect((await t.api.get('/api/v1/api-keys', token)).status).toBe(403);
  });

  test("the event stream carries its customer's orders and inventory changes, no other customer's orders", async () => {
    let aliceOrder = '';
    let bobOrder = '';
    const open = t.service.services.events.size;
    const streamed = collectEvents(t.service.app, token, (events) => events.some((e) => e.data.orderId === aliceOrder && e.data.status === 'processed'));
    await streamOpened(t.service.services.events, open); // the stream starts "now"
    bobOrder = (await placeOrder(t.api, [{ productId: product.id, quantity: 1 }], { customerId: 'bob' })).body.id;
    await orderReaches(t.api, bobOrder, ['processed']);
    aliceOrder = (await t.api.post('/api/v1/orders', { customerId: 'alice', items: [{ productId: product.id, quantity: 1 }] }, token)).body.id;
    const events = await streamed;
    // Alice's earlier orders may still change (a refund settling): hers may appear, Bob's never.
    const orders = events.filter((e) => e.event.startsWith('order.'));
    expect(orders.map((e) => e.data.orderId)).toContain(aliceOrder);
    expect(orders.map((e) => e.data.orderId)).not.toContain(bobOrder);
    expect(orders.filter((e) => e.data.customerId !== 'alice')).toEqual([]);
    expect(events.some((e) => e.event === 'inventory.changed' && e.data.productId === product.id)).toBe(true);
    expect(events.every((e) => e.event.startsWith('order.') || e.event.startsWith('inventory.'))).toBe(true);
  });
});
