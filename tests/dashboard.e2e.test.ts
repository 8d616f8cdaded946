import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { hasChromium, launchBrowser, CHROMIUM, type TestBrowser } from './support/browser.ts';
import { ROOT, spawnService, type ServiceProcess } from './support/process.ts';
import { Api, createProduct, orderReaches, placeOrder, startTestService, testEnv, tokens } from './support/service.ts';
import { createKey } from './support/credentials.ts';
import { createWebhookReceiver } from '../src/modules/webhooks/receiver.ts';
import { waitFor } from './support/wait.ts';

/**
 * The dashboard in headless Chromium against a real service process on a real port: sign in,
 * products, orders, the live view (through a restart of the service), and no request anywhere
 * but the service. Screenshots of the main views go to tests/artifacts/dashboard/.
 */
if (!hasChromium) console.warn(`dashboard e2e tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);

const ARTIFACTS = path.join(ROOT, 'tests/artifacts/dashboard');

describe.skipIf(!hasChromium)('dashboard in a real browser', () => {
  let db: TestDatabase;
  let service: ServiceProcess;
  let browser: TestBrowser;
  let page: Page;
  let api: Api;
  const requests: { url: string; headers: Record<string, string> }[] = [];
  const env = () => ({ ...testEnv, DATABASE_URL: db.url, NODE_ID: 'dashboard-e2e', DATA_DIR: '.test-data/dashboard-e2e', WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_POLL_MS: '50' });

  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
  const go = async (hash: string) => {
    await page.evaluate((h) => (location.hash = h), hash);
  };
  /** Waits for text inside `selector` (polling the DOM, as a user would look). */
  const seeText = (selector: string, text: string, timeout = 10_000) =>
    page.waitForFunction(([s, t]) => [...document.querySelectorAll(s!)].some((e) => e.textContent?.includes(t!)), [selector, text], { timeout });

  /** Waits until the table lists exactly these rows (by `data-<kind>` id), in this order. */
  const rowsAre = (kind: 'product' | 'order' | 'transfer', ids: string[]) =>
    page.waitForFunction(
      ([k, expected]) => JSON.stringify([...document.querySelectorAll(`tbody tr[data-${k}]`)].map((r) => r.getAttribute(`data-${k}`))) === expected,
      [kind, JSON.stringify(ids)] as const,
    );

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    db = await freshDatabase();
    service = await spawnService(env());
    api = Api.forUrl(service.base);
    browser = await launchBrowser();
    page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.setDefaultTimeout(10_000);
    page.on('request', (request) => requests.push({ url: request.url(), headers: request.headers() }));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    service?.proc.kill('SIGKILL');
    await service?.proc.exited;
    await db?.drop();
  }, 30_000);

  test('signs in by keyboard with a bearer token kept in sessionStorage only', async () => {
    const response = await page.goto(`${service.base}/dashboard`);
    expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await seeText('[role=alert]', 'a valid bearer token is required');
    await shot('sign-in');
    await page.getByLabel('API token').fill(tokens.admin);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Live', level: 1 }).waitFor();
    await seeText('.stream', 'Live');
    expect(await page.evaluate(() => ({ session: sessionStorage.getItem('stockroom.token'), local: localStorage.length }))).toEqual({ session: tokens.admin, local: 0 });
    await seeText('.recent, .state', 'No order has changed since this page opened.');

    // The new page's heading has the focus; Tab moves on to a control that shows where it is.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Live');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => ({ tag: document.activeElement!.tagName, outline: getComputedStyle(document.activeElement!).outlineStyle }));
    expect(['A', 'BUTTON']).toContain(focused.tag);
    expect(focused.outline).toBe('solid');
  }, 30_000);

  let productId = '';
  test('creates a product, finds it by search and category, edits it and adjusts its stock', async () => {
    const category = (await api.post('/api/v1/categories', { name: 'Mugs' })).body;
    await createProduct(api, { sku: 'OTHER-1', name: 'Unrelated thing', initialStock: 1 });
    await nav('Products').click();
    await page.getByRole('link', { name: 'New product' }).click();
    await page.getByLabel('SKU').fill('MUG-BLUE');
    await page.getByLabel('Name').fill('Blue mug');
    await page.getByLabel('Price').fill('7.5');
    await page.getByLabel('Initial stock').fill('5');
    await page.getByLabel('Mugs').check();
    await page.getByRole('button', { name: 'Create product' }).click();
    await page.getByRole('heading', { name: /Blue mug/, level: 1 }).waitFor();
    productId = decodeURIComponent(new URL(page.url()).hash.split('/')[2]!.split('?')[0]!);
    expect(await page.locator('.stock [data-field=onHand]').textContent()).toBe('5');

    await page.getByLabel('Price', { exact: true }).fill('8.25');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await seeText('.ok', 'Saved.');
    await page.getByLabel('Change (+ received, − removed)').fill('7');
    await page.getByLabel('Reason').fill('delivery from supplier');
    await page.getByRole('button', { name: 'Adjust stock' }).click();
    await seeText('.ok', 'Stock adjusted at default: 12 on hand there, 12 on hand in all.');
    await seeText('.stock [data-field=onHand]', '12');
    await seeText('table', 'delivery from supplier');
    expect((await api.get(`/api/v1/products/${productId}`)).body).toMatchObject({ price: '8.25', inventory: { onHand: 12 } });

    await nav('Products').click();
    await page.getByLabel('Search').fill('mug-b');
    await page.getByRole('button', { name: 'Search' }).click();
    await rowsAre('product', [productId]);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Category').selectOption(category.id);
    await page.waitForFunction((id) => location.hash === `#/products?category=${id}`, category.id);
    await rowsAre('product', [productId]);
    await shot('products');
    await page.getByLabel('Search').fill('no such product anywhere');
    await page.getByRole('button', { name: 'Search' }).click();
    await seeText('.state', 'No product matches these filters.');
  }, 30_000);

  test("shows held beside reserved, live, and lists the product's active holds", async () => {
    await go(`#/products/${productId}`);
    await seeText('.stock [data-field=held]', '0');
    await seeText('#holds-title + .state', 'No cart holds this product');
    const hold = await api.post('/api/v1/holds', { customerId: 'cart-e2e', items: [{ productId, quantity: 3 }] }, 'client');
    expect(hold.status).toBe(201);
    await seeText('.stock [data-field=held]', '3');
    await seeText('.stock [data-field=reserved]', '3');
    await seeText('.stock [data-field=available]', '9');
    await page.locator(`tr[data-hold="${hold.body.id}"]`).waitFor();
    expect(await page.locator(`tr[data-hold="${hold.body.id}"]`).textContent()).toContain('cart-e2e');
    await seeText(`tr[data-hold="${hold.body.id}"]`, '3 at default');
    await shot('product-holds');
    await nav('Products').click();
    await seeText(`tr[data-product="${productId}"] [data-field=held]`, '3');
    expect((await api.delete(`/api/v1/holds/${hold.body.id}`, 'client')).status).toBe(204);
    await seeText(`tr[data-product="${productId}"] [data-field=held]`, '0');
  }, 30_000);

  let orderId = '';
  test('places an order through the page and sees it reach processed live, without a reload', async () => {
    await nav('Place order').click();
    await page.getByLabel('Customer id').fill('cust-e2e');
    await page.getByLabel('Find product').fill('MUG-BLUE');
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    await page.getByRole('button', { name: 'Add Blue mug (MUG-BLUE)' }).click();
    await page.getByLabel('Quantity of Blue mug').fill('2');
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.getByRole('heading', { name: /^Order / }).waitFor();
    orderId = new URL(page.url()).hash.split('/')[2]!;
    await seeText('[data-field=status]', 'Processed');
    await seeText('.timeline', 'paid (charge');
    await seeText('[data-field=payment]', 'succeeded');
    await seeText('[data-field=total]', '16.50');
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await shot('order');

    await nav('Live').click();
    await seeText('.count[data-status=processed] .value', '1');
    await seeText('.legend [data-outcome=processed]', 'Processed: 1 in the last minute');
    await seeText(`.recent li[data-order="${orderId}"]`, 'Processed');
  }, 30_000);

  test('cancels an order from its page', async () => {
    await go(`#/orders/${orderId}`);
    // By keyboard: the confirmation takes the focus, so Enter twice cancels.
    await page.getByRole('button', { name: 'Cancel order' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.textContent === 'Yes, cancel order');
    await page.keyboard.press('Enter');
    await seeText('[data-field=status]', 'Cancelled');
    await seeText('.timeline', 'cancelled by request');
    expect((await api.get(`/api/v1/orders/${orderId}`, 'client')).body.status).toBe('cancelled');
    await shot('order-cancelled');
  }, 30_000);

  test('ships an order in parts, records a return and shows what was refunded', async () => {
    const placed = (await placeOrder(api, [{ productId, quantity: 3 }], { customerId: 'cust-parcels' })).body;
    await orderReaches(api, placed.id, ['processed']);
    await go(`#/orders/${placed.id}`);
    await page.getByLabel('Units of Blue mug (up to 3)').fill('1');
    await page.getByLabel('Tracking number (optional)').fill('TRK-E2E-1');
    await page.getByRole('button', { name: 'Ship parcel' }).click();
    await seeText('[data-field=shipped]', '1');
    await seeText('.documents', 'TRK-E2E-1');
    await page.getByRole('button', { name: 'Ship order' }).click();
    await page.getByRole('button', { name: 'Yes, ship order' }).click();
    await seeText('[data-field=status]', 'Shipped');
    await seeText('[data-field=shipped]', '3');
    await page.getByLabel('Units of Blue mug back (up to 3)').fill('2');
    await page.getByRole('button', { name: 'Record return' }).click();
    await seeText('.ok', 'Return recorded; refund of 16.50 succeeded.');
    await seeText('[data-field=refunded]', '16.50');
    await seeText('[data-field=returned]', '2');
    await seeText('.documents [data-field=refund]', 'refund of 16.50 succeeded');
    expect((await api.get(`/api/v1/orders/${placed.id}`)).body).toMatchObject({ status: 'shipped', refunded: '16.50', items: [{ shipped: 3, returned: 2 }] });
    await shot('order-returned');
  }, 30_000);

  test("shows a failed order's errors in its timeline, and finds it by status and customer", async () => {
    const empty = await createProduct(api, { sku: 'EMPTY-SHELF', name: 'Out of stock', initialStock: 0 });
    const failed = (await placeOrder(api, [{ productId: empty.id, quantity: 3 }], { customerId: 'cust-unlucky' })).body;
    await orderReaches(api, failed.id, ['failed']);

    await nav('Orders').click();
    await page.getByLabel('Status').selectOption('failed');
    await rowsAre('order', [failed.id]);
    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Customer or order id').fill('cust-unlucky');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => location.hash === '#/orders?q=cust-unlucky');
    await rowsAre('order', [failed.id]);
    await shot('orders');
    await page.getByLabel('Customer or order id').fill('nobody-at-all');
    await page.getByRole('button', { name: 'Search' }).click();
    await seeText('.state', 'No order matches these filters.');
    await page.getByLabel('Customer or order id').fill(failed.id);
    await page.getByRole('button', { name: 'Search' }).click();
    await rowsAre('order', [failed.id]);
    await page.getByRole('link', { name: failed.id.slice(-8) }).click();

    await seeText('[data-field=status]', 'Failed');
    await seeText('.timeline', 'reservation attempt 1 of 3 failed; retrying in');
    await seeText('.timeline', 'gave up after 3 reservation attempts');
    await seeText('.timeline .error-text', `insufficient stock for product ${empty.id}: 3 wanted, 0 available`);
    expect(await page.locator('.timeline .error-text').count()).toBe(3);
    expect(await page.getByRole('button', { name: 'Cancel order' }).count()).toBe(0);
    await shot('order-failed');
  }, 30_000);

  test('the live view reconnects after a restart of the service and resumes with Last-Event-ID', async () => {
    await nav('Live').click();
    await seeText('.stream', 'Live');
    const streamsBefore = requests.filter((r) => r.url.endsWith('/api/v1/events')).length;

    service.proc.kill('SIGTERM');
    await service.proc.exited;
    await seeText('.stream', 'Reconnecting');
    await seeText('.notice', 'reconnecting and resuming after the last event received');

    // While the service is down another process takes an order: the resumed stream must bring it.
    const other = await startTestService({}, { db, background: false });
    let whileDown = '';
    try {
      const product = await createProduct(other.api, { initialStock: 1 });
      whileDown = (await placeOrder(other.api, [{ productId: product.id, quantity: 1 }], { customerId: 'while-down' })).body.id;
      await orderReaches(other.api, whileDown, ['processed']);
    } finally {
      await other.close();
    }

    service = await spawnService(env(), { port: service.port });
    await seeText('.stream', 'Live', 20_000);
    await seeText(`.recent li[data-order="${whileDown}"]`, 'Processed');
    const reconnects = requests.filter((r) => r.url.endsWith('/api/v1/events')).slice(streamsBefore);
    expect(reconnects.length).toBeGreaterThan(0);
    expect(reconnects.every((r) => /^\d+-\d+-\d+$/.test(r.headers['last-event-id'] ?? ''))).toBe(true);

    const after = (await placeOrder(api, [{ productId, quantity: 1 }], { customerId: 'after-restart' })).body.id;
    await seeText(`.recent li[data-order="${after}"]`, 'Processed');
    await shot('live');
  }, 60_000);

  test('runs a warehouse sync from the live view and shows the run', async () => {
    await go('#/');
    await page.getByRole('button', { name: 'Run warehouse sync' }).click();
    await seeText('dl.facts', 'succeeded');
    const runs = (await api.get('/api/v1/warehouse/syncs', 'admin')).body.items;
    expect(runs[0]).toMatchObject({ trigger: 'manual', status: 'succeeded' });
    await seeText('dl.facts', runs[0].id);
  }, 30_000);

  test('manages API keys: creates one (shown once), signs in with it and sees only what its role may do, revokes it', async () => {
    await nav('API keys').click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    await page.getByLabel('Name').fill('e2e warehouse');
    await page.getByLabel('Role').selectOption('warehouse');
    await page.getByRole('button', { name: 'Create key' }).click();
    await seeText('.new-key', 'it is not shown again');
    const key = await page.getByLabel('The new key').inputValue();
    expect(key).toMatch(/^sr_live_/);
    const row = page.locator('tbody tr', { hasText: 'e2e warehouse' });
    await row.waitFor();
    expect(await row.textContent()).toContain(key.slice(0, 14));
    expect(await row.textContent()).not.toContain(key);
    await shot('api-keys');

    // Signed in with the warehouse key: products and stock, the warehouse sync; no orders, no keys, no catalog edits.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').fill(key);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Live', level: 1 }).waitFor();
    const links = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    expect(links).toEqual(['Live', 'Products', 'Locations', 'Transfers']);
    await seeText('.top .who', 'e2e warehouse');
    expect(await page.getByRole('button', { name: 'Run warehouse sync' }).count()).toBe(1);
    expect(await page.locator('.counts').count()).toBe(0);
    await go(`#/products/${productId}`);
    await page.getByRole('heading', { name: 'Adjust stock' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Details' }).count()).toBe(0);
    await go('#/products');
    await page.getByRole('heading', { name: 'Products', level: 1 }).waitFor();
    expect(await page.getByRole('link', { name: 'New product' }).count()).toBe(0);
    await shot('warehouse-key');
    // Transfers are the warehouse's to make; locations are only read.
    await nav('Transfers').click();
    await page.getByRole('link', { name: 'New transfer' }).waitFor();
    await nav('Locations').click();
    await page.getByRole('heading', { name: 'Locations', level: 1 }).waitFor();
    await seeText('tbody tr[data-location]', 'default');
    expect(await page.getByRole('heading', { name: 'Add a location' }).count()).toBe(0);

    // Back as admin: revoke it; the key is refused from then on.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').fill(tokens.admin);
    await page.keyboard.press('Enter');
    await nav('API keys').click();
    await page.getByRole('button', { name: 'Revoke e2e warehouse' }).click();
    await page.getByRole('button', { name: 'Yes, revoke e2e warehouse' }).click();
    await page.locator('tbody tr', { hasText: 'e2e warehouse' }).waitFor({ state: 'detached' });
    expect((await api.get('/api/v1/me', key)).status).toBe(401);
  }, 30_000);

  test('products show their low-stock threshold, and the list filters to low stock', async () => {
    const low = await createProduct(api, { sku: 'LOW-SHELF', name: 'Nearly gone', initialStock: 2, lowStockThreshold: 5 });
    const fine = await createProduct(api, { sku: 'LOW-FINE', name: 'Plenty', initialStock: 50, lowStockThreshold: 5 });
    await go('#/products?q=LOW-');
    await rowsAre('product', [low.id, fine.id].sort());
    expect(await page.locator(`tr[data-product="${low.id}"] [data-field="lowStockThreshold"]`).textContent()).toBe('5');
    await page.getByLabel('Low stock only').check();
    await rowsAre('product', [low.id]);
    expect(page.url()).toContain('low=1');
    await shot('products-low-stock');
  }, 30_000);

  test('webhooks: adds a subscription (secret shown once), sees its deliveries and health, redelivers one', async () => {
    const receiver = createWebhookReceiver();
    try {
      await nav('Webhooks').click();
      await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
      await page.getByLabel('URL').fill(receiver.url);
      await page.getByLabel('Description').fill('e2e receiver');
      await page.getByRole('button', { name: 'Add subscription' }).click();
      await seeText('.new-key', 'it is not shown again');
      const secret = await page.getByLabel('The signing secret').inputValue();
      expect(secret).toMatch(/^whsec_/);
      const product = await createProduct(api, { initialStock: 5 });
      const order = (await placeOrder(api, [{ productId: product.id, quantity: 1 }], { customerId: 'hooked-e2e' })).body;
      await page.getByRole('link', { name: receiver.url }).click();
      await page.getByRole('heading', { name: receiver.url, level: 1 }).waitFor();
      await waitFor(() => receiver.received.some((r) => r.payload?.data.id === order.id), 10_000, 'order.created at the receiver');
      await page.getByRole('button', { name: 'Refresh' }).click();
      await seeText('tbody tr[data-delivery]', 'order.created');
      await seeText('tbody tr[data-delivery]', 'succeeded');
      const first = receiver.received.find((r) => r.payload?.data.id === order.id)!;
      await page.getByRole('button', { name: `Redeliver ${first.id}` }).click();
      await seeText('[aria-live]', 'Sent again');
      await waitFor(() => receiver.received.filter((r) => r.id === first.id).length === 2, 10_000, 'the redelivery');
      await page.getByRole('button', { name: 'Refresh' }).click();
      await seeText('.badge', 'Delivering');
      await shot('webhook');
    } finally {
      receiver.stop();
    }
  }, 30_000);

  /** A cell of a table row (`data-<kind>` id, `data-field` name), as the page shows it now. */
  const cell = (row: string, field: string) => page.locator(`${row} [data-field="${field}"]`).first().textContent();
  const cellIs = (row: string, field: string, text: string) =>
    page.waitForFunction(([r, f, t]) => document.querySelector(`${r} [data-field="${f}"]`)?.textContent === t, [row, field, text] as const);
  const signInAs = async (token: string) => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').fill(token);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Live', level: 1 }).waitFor();
  };

  let storeId = '';
  let teaId = '';
  test('locations: adds a store, lists what each location holds, edits it; what the API refuses is shown with its reason', async () => {
    teaId = (await createProduct(api, { sku: 'TEA-E2E', name: 'Green tea', initialStock: 10 })).id;
    await nav('Locations').click();
    await page.getByRole('heading', { name: 'Locations', level: 1 }).waitFor();
    await seeText('tbody tr[data-location]', 'default');
    await page.getByLabel('Code').fill('STORE-E2E');
    await page.getByLabel('Name', { exact: true }).fill('High Street store');
    await page.getByLabel('Kind').selectOption('store');
    await page.getByLabel('Priority (lower first)').fill('10');
    await page.getByRole('button', { name: 'Add location' }).click();
    await seeText('.ok', 'Added STORE-E2E.');
    const store = (await api.get('/api/v1/locations?limit=200')).body.items.find((l: { code: string }) => l.code === 'STORE-E2E');
    expect(store).toMatchObject({ name: 'High Street store', kind: 'store', priority: 10, active: true, default: false });
    storeId = store.id;
    // By priority: the store (10) before the default location (100); it holds nothing yet.
    await seeText(`tr[data-location="${storeId}"]`, 'High Street store');
    expect(await page.locator('tbody tr[data-location] code').first().textContent()).toBe('STORE-E2E');
    expect(await cell(`tr[data-location="${storeId}"]`, 'onHand')).toBe('0');

    // The default location cannot be deactivated: the API's reason is shown, and it stays active.
    await page.getByRole('link', { name: 'default', exact: true }).click();
    await page.getByRole('heading', { name: /Default location|default/, level: 1 }).waitFor();
    await page.getByLabel('Active (orders may take stock from it)').uncheck();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await seeText('[role=alert]', 'the default location cannot be deactivated');
    expect((await api.get('/api/v1/locations?limit=200')).body.items.find((l: { default: boolean }) => l.default).active).toBe(true);
    await shot('location-default-refused');
  }, 30_000);

  test("the product page: stock per location, and an adjustment at the store", async () => {
    await go(`#/products/${teaId}`);
    await page.getByRole('heading', { name: 'Stock by location' }).waitFor();
    await cellIs('tr[data-location]', 'onHand', '10');
    await page.getByLabel('Location', { exact: true }).selectOption(storeId);
    await page.getByLabel('Change (+ received, − removed)').fill('8');
    await page.getByLabel('Reason').fill('delivery to the store');
    await page.getByRole('button', { name: 'Adjust stock' }).click();
    await seeText('.ok', 'Stock adjusted at STORE-E2E: 8 on hand there, 18 on hand in all.');
    await cellIs(`tr[data-location="${storeId}"]`, 'onHand', '8');
    await cellIs('.stock', 'onHand', '18');
    await seeText('table', 'delivery to the store');
    const inventory = (await api.get(`/api/v1/products/${teaId}/inventory`)).body;
    expect(inventory.locations.find((l: { locationId: string }) => l.locationId === storeId)).toMatchObject({ onHand: 8, available: 8 });
    await shot('product-locations');
  }, 30_000);

  let transferId = '';
  test('transfers: sends one from the store (one transfer for a double submit), receives it in two parts; the counts follow at each location', async () => {
    await nav('Transfers').click();
    await page.getByRole('link', { name: 'New transfer' }).click();
    await page.getByRole('heading', { name: 'New transfer', level: 1 }).waitFor();
    await page.getByLabel('From', { exact: true }).selectOption(storeId);
    await page.getByLabel('To', { exact: true }).selectOption({ label: 'default · Default location (default)' });
    await page.getByLabel('Find product').fill('TEA-E2E');
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    await page.getByRole('button', { name: 'Add Green tea (TEA-E2E)' }).click();
    await seeText('tbody td.num', '8'); // what the store can send
    await page.getByLabel('Quantity of Green tea').fill('5');
    await shot('transfer-new');
    // Submitted twice before the first answer (as a double click can): one Idempotency-Key, one transfer.
    await page.evaluate(() => {
      const form = document.querySelector<HTMLFormElement>('main form')!;
      form.requestSubmit();
      form.requestSubmit();
    });
    await page.getByRole('heading', { name: /^Transfer / }).waitFor();
    transferId = new URL(page.url()).hash.split('/')[2]!;
    const sent = requests.filter((r) => r.url === `${service.base}/api/v1/transfers` && r.headers['idempotency-key']);
    expect(sent.length).toBe(2);
    expect(new Set(sent.map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect((await api.get('/api/v1/transfers?limit=200')).body.items.map((t: { id: string }) => t.id)).toEqual([transferId]);
    const row = `tr[data-product="${teaId}"]`;
    await seeText('[data-field=status]', 'In transit');
    expect([await cell(row, 'quantity'), await cell(row, 'received'), await cell(row, 'inTransit')]).toEqual(['5', '0', '5']);

    await page.getByLabel('Received of Green tea (TEA-E2E)').fill('2');
    await page.getByRole('button', { name: 'Receive' }).click();
    await cellIs(row, 'received', '2');
    expect(await cell(row, 'inTransit')).toBe('3');
    await seeText('[data-field=status]', 'In transit');
    await shot('transfer');
    // The rest: the field starts at what is still in transit.
    expect(await page.getByLabel('Received of Green tea (TEA-E2E)').inputValue()).toBe('3');
    await page.getByRole('button', { name: 'Receive' }).click();
    await seeText('[data-field=status]', 'Received');
    expect(await cell(row, 'received')).toBe('5');
    expect(await page.getByRole('button', { name: 'Receive' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Cancel transfer' }).count()).toBe(0);
    expect((await api.get(`/api/v1/transfers/${transferId}`)).body).toMatchObject({ status: 'received', items: [{ productId: teaId, quantity: 5, received: 5 }] });

    await nav('Transfers').click();
    await rowsAre('transfer', [transferId]);
    await seeText(`tr[data-transfer="${transferId}"]`, 'STORE-E2E');
    await page.getByLabel('Status').selectOption('in_transit');
    await seeText('.state', 'No transfer has this status.');
    await shot('transfers');

    // Per location: the store kept 3, the default location has its 10 and the 5 that arrived.
    await go(`#/products/${teaId}`);
    const defaultRow = `tr[data-location]:not([data-location="${storeId}"])`;
    await cellIs(`tr[data-location="${storeId}"]`, 'onHand', '3');
    await cellIs(defaultRow, 'onHand', '15');
    expect([await cell(defaultRow, 'incoming'), await cell(`tr[data-location="${storeId}"]`, 'incoming')]).toEqual(['0', '0']);
    await cellIs('.stock', 'onHand', '18');
    const counts = (await api.get(`/api/v1/products/${teaId}/inventory`)).body.locations.map((l: { locationId: string; onHand: number; incoming: number }) => [l.locationId === storeId, l.onHand, l.incoming]);
    expect(counts.sort()).toEqual([[false, 15, 0], [true, 3, 0]]);
  }, 30_000);

  test("an order split over two locations shows each line's allocations; the locations list shows what each holds, and a store with stock cannot be deleted", async () => {
    // 15 at the default location, 3 at the store: 17 takes all 15 and 2 from the store.
    const order = (await placeOrder(api, [{ productId: teaId, quantity: 17 }], { customerId: 'split-e2e' })).body;
    await orderReaches(api, order.id, ['processed']);
    await go(`#/orders/${order.id}`);
    await seeText('[data-field=status]', 'Processed');
    await seeText(`tr[data-product="${teaId}"] [data-field=allocations]`, 'STORE-E2E 2');
    await seeText(`tr[data-product="${teaId}"] [data-field=allocations]`, 'default 15');
    await shot('order-split');

    await nav('Locations').click();
    const storeRow = `tr[data-location="${storeId}"]`;
    await cellIs(storeRow, 'awaitingShipment', '2');
    expect([await cell(storeRow, 'products'), await cell(storeRow, 'onHand'), await cell(storeRow, 'available')]).toEqual(['1', '1', '1']);
    await shot('locations');

    await page.getByRole('link', { name: 'STORE-E2E' }).click();
    await page.getByRole('heading', { name: /High Street store/, level: 1 }).waitFor();
    await cellIs(`tr[data-product="${teaId}"]`, 'onHand', '1');
    await page.getByLabel('Priority (lower first)').fill('5');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await seeText('.ok', 'Saved.');
    await page.getByRole('button', { name: 'Delete location' }).click();
    await page.getByRole('button', { name: 'Yes, delete location' }).click();
    await seeText('[role=alert]', 'location STORE-E2E still has stock of 1 product(s)');
    expect((await api.get(`/api/v1/locations/${storeId}`)).body).toMatchObject({ priority: 5, active: true });
    await shot('location');
  }, 30_000);

  test('a read-only key sees locations, transfers and stock per location, without a button that changes them; a receipt made elsewhere shows up live', async () => {
    const { key } = await createKey(api, 'read-only', 'e2e read-only');
    await signInAs(key);
    await go(`#/transfers/${transferId}`);
    await seeText('[data-field=status]', 'Received');
    await go(`#/locations/${storeId}`);
    await page.getByRole('heading', { name: /High Street store/, level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Stock here' }).waitFor();
    expect(await page.getByRole('button').allTextContents()).toEqual(['Sign out']);
    await go(`#/products/${teaId}`);
    await page.getByRole('heading', { name: 'Stock by location' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Adjust stock' }).count()).toBe(0);
    await go('#/transfers');
    await rowsAre('transfer', [transferId]);
    expect(await page.getByRole('link', { name: 'New transfer' }).count()).toBe(0);
    await shot('read-only-transfers');

    // Received by another client while the page is open: the page follows the stream, no reload.
    const defaultId = (await api.get('/api/v1/locations?limit=200')).body.items.find((l: { default: boolean }) => l.default).id;
    const last = (await api.post('/api/v1/transfers', { fromLocationId: storeId, toLocationId: defaultId, items: [{ productId: teaId, quantity: 1 }] })).body;
    await go(`#/transfers/${last.id}`);
    await seeText('[data-field=status]', 'In transit');
    expect(await page.getByRole('heading', { name: /^Receive/ }).count()).toBe(0);
    expect((await api.post(`/api/v1/transfers/${last.id}/receive`, { items: [{ productId: teaId, quantity: 1 }] })).status).toBe(200);
    await seeText('[data-field=status]', 'Received');
    await cellIs(`tr[data-product="${teaId}"]`, 'received', '1');
    await signInAs(tokens.admin);
  }, 30_000);

  test('the page made no request outside the service', () => {
    expect(requests.length).toBeGreaterThan(10);
    const outside = requests.filter((r) => !r.url.startsWith(`${service.base}/`));
    expect(outside).toEqual([]);
  });
});
