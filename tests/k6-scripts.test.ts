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
// @ts-expect-error: plain JavaScript for k6, without type declarations
import { scarcityProblems } from '../bench/k6/verdict.js';

/**
 * k6 cannot be installed here, so each script in bench/k6 runs under a shim of the k6 modules
 * (tests/support/k6) against a real service on a real port: setup, a few iterations of the default
 * function, teardown, handleSummary. The assertions are on what reached the service, the
 * configuration the scripts declare (executors, VUs, thresholds) and the summary file. The shim
 * does not pace: arrival rates, dropped iterations and whether thresholds hold under real load
 * are only ever exercised by a real k6.
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
    (await db.sql`SELECT status, count(*)::int AS n FROM orders WHERE items @> ${JSON.stringify([{ productId }])}::jsonb GROUP BY status`).map(
      (r) => [r.status, r.n],
    ),
  ) as Record<string, number>;

/**
 * Every threshold of the summary was evaluated, and every one passed except those on latency: a
 * handful of requests on a busy test machine say nothing of latency (the bench measures it).
 */
function expectThresholdsPassedBesidesLatency(summary: { thresholds: Record<string, Record<string, boolean>> }) {
  const entries = Object.entries(summary.thresholds);
  const latency = entries.filter(([metric]) => metric.startsWith('http_req_duration'));
  expect(latency.length).toBeGreaterThan(0);
  for (const [, results] of latency) for (const ok of Object.values(results)) expect(typeof ok).toBe('boolean');
  const failed = entries.filter(([metric]) => !metric.startsWith('http_req_duration')).flatMap(([metric, results]) => Object.entries(results).filter(([, ok]) => !ok).map(([rule]) => `${metric} ${rule}`));
  expect(failed).toEqual([]);
}

describe('bench/k6/hot-sku.js', () => {
  test('constant arrival rate on one product; every answer checked; thresholds and summary written', async () => {
    const report = await runK6Script(script('hot-sku.js'), { env: env(), vus: 3, iterations: 12 });
    expect(report.error).toBeNull();
    // Defaults: 2,000/s for 30 s; VUs for 100 ms (pre-allocated) to 500 ms (max) per request; 1 % may drop.
    expect(report.options.scenarios.hot_sku).toMatchObject({ executor: 'constant-arrival-rate', timeUnit: '1s', rate: 2000, preAllocatedVUs: 200, maxVUs: 1000 });
    expect(report.options.thresholds).toMatchObject({
      'http_req_failed{scenario:hot_sku}': ['rate<0.01'],
      'http_req_duration{name:place-order}': ['p(95)<50', 'p(99)<100'],
      dropped_iterations: ['count<=600'],
    });

    const productId = report.setupData.productId;
    expect(calls(report, 'POST', /^\/api\/v1\/products$/).map((r) => r.status)).toEqual([201]);
    const orders = calls(report, 'POST', /^\/api\/v1\/orders$/);
    expect(orders).toHaveLength(12);
    expect(orders.every((r) => r.status === 202 && r.tags.name === 'place-order')).toBe(true);
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
    // The pass/fail rate counts the scenario's 12 requests, not setup's.
    expect(summary.metrics['http_req_failed{scenario:hot_sku}']).toMatchObject({ rate: 0, passes: 0, fails: 12 });
    expect(summary.metrics['http_req_duration{name:place-order}']['p(99)']).toBeGreaterThan(0);
    expect(summary.metrics.dropped_iterations.count).toBe(0); // the shim never drops: not evidence of pacing
    expect(summary.thresholds.checks).toEqual({ 'rate>0.99': true });
    expectThresholdsPassedBesidesLatency(summary);
    expect(report.summaryOutput.stdout).toContain('hot-sku against');
    expect(report.summaryOutput.stdout).toMatch(/place-order p50 \/ p95 \/ p99 \.+ [\d.]+ \/ [\d.]+ \/ [\d.]+ ms/);
    expect(report.summaryOutput.stdout).toMatch(/failed requests \(setup excluded\) \.+ 0\.00 %/);
  });

  test('an order the service refuses fails the checks and the thresholds (the run can fail)', async () => {
    const report = await runK6Script(script('hot-sku.js'), { env: env({ PRODUCT_ID: crypto.randomUUID(), RATE: '300', DURATION: '1m' }), iterations: 3 });
    expect(report.error).toBeNull();
    expect(report.options.scenarios.hot_sku).toMatchObject({ rate: 300, duration: '1m', preAllocatedVUs: 30, maxVUs: 150 });
    expect(report.options.thresholds.dropped_iterations).toEqual(['count<=180']);
    expect(calls(report, 'POST', /^\/api\/v1\/products$/)).toHaveLength(0); // PRODUCT_ID given: no setup product
    expect(calls(report, 'POST', /^\/api\/v1\/orders$/).map((r) => r.status)).toEqual([422, 422, 422]);
    expect(report.checks['order accepted (202)']).toEqual({ passes: 0, fails: 3 });
    const summary = await summaryOf('hot-sku');
    expect(summary.thresholdsPassed).toBe(false);
    expect(summary.failedThresholds).toEqual(
      expect.arrayContaining(['http_req_failed{scenario:hot_sku} rate<0.01', 'checks rate>0.99', 'orders_accepted count>0']),
    );
  });

  test('a summary directory that does not exist stops the run before any request (k6 would only log it at the end)', async () => {
    const missing = path.join(summaryDir, 'missing');
    const absolute = await runK6Script(script('hot-sku.js'), { env: env({ SUMMARY_DIR: missing }), iterations: 2 });
    expect(absolute.error).toContain(`SUMMARY_DIR ${missing} does not exist`);
    expect(absolute.requests).toHaveLength(0);
    // A relative one is where k6 writes it: under the directory it was started in (PWD).
    const relative = await runK6Script(script('hot-sku.js'), { env: env({ SUMMARY_DIR: 'missing/', PWD: summaryDir }), iterations: 2 });
    expect(relative.error).toContain(`SUMMARY_DIR ${missing} does not exist`);
    expect(relative.requests).toHaveLength(0);
    // Without PWD a relative directory cannot be checked: the run goes ahead and the write fails at the end, as k6's does.
    const unchecked = await runK6Script(script('hot-sku.js'), { env: env({ SUMMARY_DIR: 'no-such-k6-dir' }), iterations: 1 });
    expect(unchecked.error).toBeNull();
    expect(unchecked.writtenFiles).toEqual([]);
    expect(unchecked.summaryErrors).toEqual([expect.stringContaining("could not open 'no-such-k6-dir/k6-hot-sku.json'")]);
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
    expect(Object.keys(report.options.thresholds)).toEqual(
      expect.arrayContaining(['http_req_failed{scenario:shoppers}', 'http_req_duration{name:place-order}', 'http_req_duration{group:::browse}', 'checks']),
    );

    expect(report.setupData.productIds).toHaveLength(3);
    const groups = (name: string) => report.requests.filter((r) => r.group === `::${name}`);
    expect(groups('browse')).toHaveLength(12); // list, product, inventory × 4
    expect(groups('order')).toHaveLength(12); // place, read, log × 4
    expect(groups('cancel')).toHaveLength(4);
    expect(groups('cancel').every((r) => r.status === 200)).toBe(true);
    expect(failedChecks(report)).toEqual([]);
    expect(report.checks['log starts with reserved or pending']).toEqual({ passes: 4, fails: 0 });
    expect(report.sleeps).toHaveLength(8);
    expect(report.sleeps.every((s) => s >= 0.25 && s <= 0.75)).toBe(true);

    const orderIds = calls(report, 'POST', /^\/api\/v1\/orders$/).map((r) => r.status);
    expect(orderIds).toEqual([202, 202, 202, 202]);
    const [row] = await db.sql`SELECT count(*)::int AS n FROM orders WHERE customer_id LIKE 'k6-shopper-%' AND status = 'cancelled'`;
    expect(row!.n).toBe(4);

    const summary = await summaryOf('shop-mix');
    expect(summary.metrics.orders_placed.count).toBe(4);
    expect(summary.metrics.orders_cancelled.count).toBe(4);
    expectThresholdsPassedBesidesLatency(summary);
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
    const report = await runK6Script(script('spike.js'), { env: env({ BASE_RATE: '50', PEAK_RATE: '800', VUS: '7' }), vus: 4, iterations: 8 });
    expect(report.error).toBeNull();
    const spike = report.options.scenarios.spike;
    expect(spike).toMatchObject({ executor: 'ramping-arrival-rate', startRate: 50, preAllocatedVUs: 7, maxVUs: 400 });
    // Scheduled: 10 s at 50, ramp to 800 in 5 s, 20 s at 800, ramp back in 5 s, 15 s at 50 = 21,500; 1 % may drop.
    expect(report.options.thresholds.dropped_iterations).toEqual(['count<=215']);
    expect(Math.max(...spike.stages.map((s: { target: number }) => s.target))).toBe(800);
    expect(spike.stages.at(-1).target).toBe(50);
    const orders = calls(report, 'POST', /^\/api\/v1\/orders$/);
    expect(orders.map((r) => r.status)).toEqual(Array(8).fill(202));
    expect(failedChecks(report)).toEqual([]);
    const summary = await summaryOf('spike');
    expect(summary.metrics.orders_accepted.count).toBe(8);
    expect(summary.metrics.rate_limited.rate).toBe(0);
    expectThresholdsPassedBesidesLatency(summary);
  });
});

describe('every script', () => {
  test('documents every variable it reads, in its header and in bench/README.md', async () => {
    const source = (name: string) => readFile(script(name), 'utf8');
    const read = (code: string) => [...code.matchAll(/__ENV\.([A-Z_]+)|numberEnv\('([A-Z_]+)'/g)].map((m) => m[1] ?? m[2]!);
    // lib.js: what its top level reads applies to every script, what a function reads to the scripts calling it.
    const lib = await source('lib.js');
    const functions = [...lib.matchAll(/^export function (\w+)\([^)]*\) \{\n([\s\S]*?)^\}/gm)].map((m) => ({ name: m[1]!, reads: read(m[2]!) }));
    const topLevel = read(lib.replace(/^export function [\s\S]*?^\}/gm, '') + (await source('summary.js')));
    const readme = await readFile(path.join(ROOT, 'bench/README.md'), 'utf8');
    for (const name of ['hot-sku.js', 'shop-mix.js', 'spike.js', 'scarcity.js']) {
      const code = await source(name);
      const header = code.slice(0, code.search(/^import /m));
      const called = functions.filter((f) => new RegExp(`\\b${f.name}\\(`).test(code)).flatMap((f) => f.reads);
      for (const variable of new Set([...read(code), ...topLevel, ...called])) {
        expect(`${name} header: ${header.includes(variable) ? variable : 'missing'}`).toBe(`${name} header: ${variable}`);
        expect(`bench/README.md: ${readme.includes(`\`${variable}\``) ? variable : 'missing'}`).toBe(`bench/README.md: ${variable}`);
      }
    }
  });
});

describe('docker compose', () => {
  test('a k6 service under the bench profile runs the scripts against the app', async () => {
    const compose = Bun.YAML.parse(await readFile(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as any;
    const k6 = compose.services.k6;
    expect(k6.profiles).toEqual(['bench']);
    expect(k6.image).toStartWith('grafana/k6');
    expect(k6.volumes).toContain('./bench:/bench');
    expect(k6.environment.BASE_URL).toBe('http://lb:3000'); // through the balancer, to every replica
    expect(k6.environment.SUMMARY_DIR).toBe('/bench/results');
    const target = (k6.command as string[]).find((arg) => arg.startsWith('/bench/'))!;
    expect(await Bun.file(path.join(ROOT, target.replace('/bench/', 'bench/'))).exists()).toBe(true);
  });
});

describe('bench/k6/scarcity.js', () => {
  test('ten times more orders than units: exactly the stock is sold, the rest fails, teardown finds it settled', async () => {
    const report = await runK6Script(script('scarcity.js'), { env: env({ STOCK: '3', VUS: '2' }), vus: 2, iterations: 30 });
    expect(report.error).toBeNull();
    expect(report.options.scenarios.scarcity).toMatchObject({ executor: 'shared-iterations', vus: 2, iterations: 30 });
    expect(report.options.teardownTimeout).toBe('120s');
    const { productId, customerId } = report.setupData;
    expect(calls(report, 'POST', /^\/api\/v1\/orders$/).map((r) => r.status)).toEqual(Array(30).fill(202));
    expect(failedChecks(report)).toEqual([]);
    // teardown read the run's orders and the product's ledger after polling until nothing was open.
    const teardown = report.requests.filter((r) => r.group === '::teardown').map((r) => new URL(r.url).pathname);
    expect(teardown).toEqual(expect.arrayContaining([`/api/v1/products/${productId}/inventory`, '/api/v1/orders', `/api/v1/products/${productId}/inventory/movements`]));
    expect(await ordersOf(productId)).toEqual({ processed: 3, failed: 27 });
    const [row] = await db.sql`SELECT count(*)::int AS n FROM orders WHERE customer_id = ${customerId}`;
    expect(row!.n).toBe(30);
    const summary = await summaryOf('scarcity');
    expect(summary.metrics.orders_accepted.count).toBe(30);
    expectThresholdsPassedBesidesLatency(summary);
  });

  test('teardown fails the run when reserved stock does not come back within SETTLE_TIMEOUT', async () => {
    // A service whose payments take 20 s: the orders that got stock stay reserved past the 1 s wait.
    const slowDb = await freshDatabase();
    const slow = await spawnService({
      ...testEnv,
      DATABASE_URL: slowDb.url,
      NODE_ID: 'k6-slow-payments',
      DATA_DIR: '.test-data/k6-slow-payments',
      LOG_LEVEL: 'warn',
      PAYMENT_LATENCY_MS: '20000',
      PAYMENT_TIMEOUT_MS: '60000',
    });
    try {
      const report = await runK6Script(script('scarcity.js'), { env: env({ BASE_URL: slow.base, STOCK: '2', ORDERS: '4', SETTLE_TIMEOUT: '1' }), iterations: 4 });
      expect(report.error).toMatch(/scarcity check failed: not settled after \d+ s: \d+ orders still pending or reserved, reserved = 2 \(expected 0\)/);
      expect(report.requests.filter((r) => r.group === '::teardown').length).toBeGreaterThan(2); // it polled
    } finally {
      slow.proc.kill('SIGTERM');
      await slow.proc.exited;
      await slowDb.drop();
    }
  }, 30_000);

  test('the verdict: oversold or unsettled runs fail, a settled run within its stock passes', () => {
    const settled = { open: 0, reserved: 0, sold: 100, supplied: 100, waitedSeconds: 3 };
    expect(scarcityProblems(settled)).toEqual([]);
    expect(scarcityProblems({ ...settled, sold: 101 })).toEqual(['oversold: 101 units sold, only 100 ever in stock']);
    expect(scarcityProblems({ ...settled, open: 4, reserved: 4, waitedSeconds: 60 })).toEqual([
      'not settled after 60 s: 4 orders still pending or reserved, reserved = 4 (expected 0)',
    ]);
  });
});
