import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { K6Report } from './support/k6/protocol.ts';
import { runK6Script } from './support/k6/run.ts';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { ROOT, spawnService, type ServiceProcess } from './support/process.ts';
import { testEnv, tokens } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * k6 cannot be installed here, so each script in bench/k6 runs under a shim of the k6 modules
 * (tests/support/k6) against a real service on a real port: setup, a few iterations of the default
 * function, handleSummary. The assertions are on what reached the service and on the summary file.
 */
let db: TestDatabase;
let service: ServiceProcess;
let base: string;
let summaryDir: string;
beforeAll(async () => {
  db = await freshDatabase();
  // Its own process, as k6 would meet it (a k6 worker in the service's own process can stall its database sockets).
  service = await spawnService({ ...testEnv, DATABASE_URL: db.url, NODE_ID: 'k6-shim', DATA_DIR: '.test-data/k6-shim', LOG_LEVEL: 'warn' });
  base = service.base;
  summaryDir = await mkdtemp(path.join(os.tmpdir(), 'k6-summary-'));
}, 60_000);
afterAll(async () => {
  service.proc.kill('SIGTERM');
  await service.proc.exited;
  await db.drop();
  await rm(summaryDir, { recursive: true, force: true });
}, 30_000);

const script = (name: string) => path.join(ROOT, 'bench/k6', name);
const env = (extra: Record<string, string> = {}) => ({ BASE_URL: base, ADMIN_TOKEN: tokens.admin, CLIENT_TOKEN: tokens.client, SUMMARY_DIR: summaryDir, ...extra });
const calls = (report: K6Report, method: string, pattern: RegExp) => report.requests.filter((r) => r.method === method && pattern.test(new URL(r.url).pathname));
const failedChecks = (report: K6Report) => Object.entries(report.checks).filter(([, c]) => c.fails > 0);
const summaryOf = async (name: string) => JSON.parse(await readFile(path.join(summaryDir, `k6-${name}.json`), 'utf8'));
const ordersOf = async (productId: string) =>
  Object.fromEntries(
    (await db.sql`SELECT o.status, count(*)::int AS n FROM orders o JOIN order_items i ON i.order_id = o.id WHERE i.product_id = ${productId} GROUP BY o.status`).map(
      (r) => [r.status, r.n],
    ),
  ) as Record<string, number>;

describe('bench/k6/hot-sku.js', () => {
  test('constant arrival rate on one product; every answer checked; thresholds and summary written', async () => {
    const report = await runK6Script(script('hot-sku.js'), { env: env(), vus: 3, iterations: 12 });
    expect(report.error).toBeNull();
    expect(report.options.scenarios.hot_sku).toMatchObject({ executor: 'constant-arrival-rate', timeUnit: '1s' });
    expect(report.options.thresholds.http_req_failed).toEqual(['rate<0.01']);
    expect(report.options.thresholds['http_req_duration{name:place order}']).toEqual(['p(95)<50', 'p(99)<100']);

    const productId = report.setupData.productId;
    expect(calls(report, 'POST', /^\/api\/v1\/products$/).map((r) => r.status)).toEqual([201]);
    const orders = calls(report, 'POST', /^\/api\/v1\/orders$/);
    expect(orders).toHaveLength(12);
    expect(orders.every((r) => r.status === 202 && r.tags.name === 'place order')).toBe(true);
    expect(new Set(orders.map((r) => r.vu))).toEqual(new Set([1, 2, 3]));
    expect(report.checks['order accepted (202)']).toEqual({ passes: 12, fails: 0 });
    expect(failedChecks(report)).toEqual([]);
    expect(Object.keys(report.checks)).toHaveLength(3);
    // Every order the script placed was stored and goes on to be processed.
    expect(await waitFor(async () => ((await ordersOf(productId)).processed === 12 ? ordersOf(productId) : null), 10_000, '12 processed orders')).toEqual({
      processed: 12,
    });

    const summary = await summaryOf('hot-sku');
    expect(report.writtenFiles).toEqual([path.join(summaryDir, 'k6-hot-sku.json')]);
    expect(summary.metrics.orders_accepted.count).toBe(12);
    expect(summary.metrics.http_reqs.count).toBe(13); // the product made in setup, then 12 orders
    expect(summary.metrics.http_req_failed.rate).toBe(0);
    expect(summary.metrics['http_req_duration{name:place order}']['p(99)']).toBeGreaterThan(0);
    expect(summary.thresholds.checks).toEqual({ 'rate>0.99': true });
    expect(summary.thresholds.http_req_failed).toEqual({ 'rate<0.01': true });
    expect(report.summaryOutput.stdout).toContain('hot-sku against');
  });

  test('an order the service refuses fails the checks and the thresholds (the run can fail)', async () => {
    const report = await runK6Script(script('hot-sku.js'), { env: env({ PRODUCT_ID: crypto.randomUUID() }), iterations: 3 });
    expect(report.error).toBeNull();
    expect(calls(report, 'POST', /^\/api\/v1\/products$/)).toHaveLength(0); // PRODUCT_ID given: no setup product
    expect(calls(report, 'POST', /^\/api\/v1\/orders$/).map((r) => r.status)).toEqual([422, 422, 422]);
    expect(report.checks['order accepted (202)']).toEqual({ passes: 0, fails: 3 });
    const summary = await summaryOf('hot-sku');
    expect(summary.thresholdsPassed).toBe(false);
    expect(summary.failedThresholds).toEqual(expect.arrayContaining(['http_req_failed rate<0.01', 'checks rate>0.99', 'orders_accepted count>0']));
  });

  test('without tokens setup stops the run with a message', async () => {
    const report = await runK6Script(script('hot-sku.js'), { env: env({ ADMIN_TOKEN: '' }), iterations: 2 });
    expect(report.error).toContain('ADMIN_TOKEN and CLIENT_TOKEN');
    expect(report.requests).toHaveLength(0);
  });
});

describe('bench/k6/shop-mix.js', () => {
  test('shoppers browse, order, read the order and its log, and cancel', async () => {
    const report = await runK6Script(script('shop-mix.js'), { env: env({ PRODUCTS: '3', THINK_TIME: '0.5', CANCEL_RATIO: '1' }), vus: 2, iterations: 4 });
    expect(report.error).toBeNull();
    expect(report.options.scenarios.shoppers.executor).toBe('ramping-vus');
    expect(Object.keys(report.options.thresholds)).toEqual(expect.arrayContaining(['http_req_failed', 'http_req_duration{group:::browse}', 'checks']));

    expect(report.setupData.productIds).toHaveLength(3);
    const groups = (name: string) => report.requests.filter((r) => r.group === `::${name}`);
    expect(groups('browse')).toHaveLength(12); // list, product, inventory × 4
    expect(groups('order')).toHaveLength(12); // place, read, log × 4
    expect(groups('cancel')).toHaveLength(4);
    expect(groups('cancel').every((r) => r.status === 200)).toBe(true);
    expect(failedChecks(report)).toEqual([]);
    expect(report.checks['log starts with pending']).toEqual({ passes: 4, fails: 0 });
    expect(report.sleeps).toHaveLength(8);
    expect(report.sleeps.every((s) => s >= 0.25 && s <= 0.75)).toBe(true);

    const orderIds = calls(report, 'POST', /^\/api\/v1\/orders$/).map((r) => r.status);
    expect(orderIds).toEqual([202, 202, 202, 202]);
    const [row] = await db.sql`SELECT count(*)::int AS n FROM orders WHERE customer_id LIKE 'k6-shopper-%' AND status = 'cancelled'`;
    expect(row!.n).toBe(4);

    const summary = await summaryOf('shop-mix');
    expect(summary.metrics.orders_placed.count).toBe(4);
    expect(summary.metrics.orders_cancelled.count).toBe(4);
    expect(summary.thresholdsPassed).toBe(true);
  });

  test('with no cancelling, nobody cancels', async () => {
    const report = await runK6Script(script('shop-mix.js'), { env: env({ PRODUCTS: '2', THINK_TIME: '0', CANCEL_RATIO: '0' }), iterations: 3 });
    expect(report.error).toBeNull();
    expect(report.requests.filter((r) => r.group === '::cancel')).toHaveLength(0);
    expect(report.sleeps).toHaveLength(0);
    expect(failedChecks(report)).toEqual([]);
  });
});

describe('bench/k6/spike.js', () => {
  test('ramping arrival rate up to a peak and back; 202 or 429 are both expected answers', async () => {
    const report = await runK6Script(script('spike.js'), { env: env({ BASE_RATE: '50', PEAK_RATE: '800' }), vus: 4, iterations: 8 });
    expect(report.error).toBeNull();
    const spike = report.options.scenarios.spike;
    expect(spike.executor).toBe('ramping-arrival-rate');
    expect(spike.startRate).toBe(50);
    expect(Math.max(...spike.stages.map((s: { target: number }) => s.target))).toBe(800);
    expect(spike.stages.at(-1).target).toBe(50);
    const orders = calls(report, 'POST', /^\/api\/v1\/orders$/);
    expect(orders.map((r) => r.status)).toEqual(Array(8).fill(202));
    expect(failedChecks(report)).toEqual([]);
    const summary = await summaryOf('spike');
    expect(summary.metrics.orders_accepted.count).toBe(8);
    expect(summary.metrics.rate_limited.rate).toBe(0);
    expect(summary.thresholdsPassed).toBe(true);
  });
});

describe('docker compose', () => {
  test('a k6 service under the bench profile runs the scripts against the app', async () => {
    const compose = Bun.YAML.parse(await readFile(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as any;
    const k6 = compose.services.k6;
    expect(k6.profiles).toEqual(['bench']);
    expect(k6.image).toStartWith('grafana/k6');
    expect(k6.volumes).toContain('./bench:/bench');
    expect(k6.environment.BASE_URL).toBe('http://app:3000');
    expect(k6.environment.SUMMARY_DIR).toBe('/bench/results');
    const target = (k6.command as string[]).find((arg) => arg.startsWith('/bench/'))!;
    expect(await Bun.file(path.join(ROOT, target.replace('/bench/', 'bench/'))).exists()).toBe(true);
  });
});
