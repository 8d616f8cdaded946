import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createProduct, orderReaches, placeOrder, startTestService, type TestService } from './support/service.ts';

let t: TestService;
beforeAll(async () => {
  t = await startTestService({}, { background: false });
});
afterAll(() => t.close());

/** Prometheus text → { 'name{labels}': value } */
function parse(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}
const find = (series: Map<string, number>, name: string, ...labels: string[]) =>
  [...series].filter(([key]) => (key === name || key.startsWith(`${name}{`)) && labels.every((l) => key.includes(l))).map(([, v]) => v);

describe('GET /metrics', () => {
  test('admin only, Prometheus text with the named series after real work', async () => {
    const product = await createProduct(t.api, { initialStock: 3 });
    const order = await placeOrder(t.api, [{ productId: product.id, quantity: 1 }]);
    await orderReaches(t.api, order.body.id, ['processed']);
    await t.api.get('/api/v1/nothing');
    await t.service.scheduler.tick('warehouse-sync', new Date());
    await t.service.scheduler.tick('outbox-prune', new Date());

    expect((await t.api.get('/metrics', 'client')).status).toBe(403);
    expect((await t.api.get('/metrics', 'anonymous')).status).toBe(401);
    const reply = await t.service.app.handle(new Request('http://localhost/metrics', { headers: { authorization: 'Bearer test-admin-token' } }));
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toContain('text/plain');
    const series = parse(await reply.text());

    expect(find(series, 'http_request_duration_seconds_count', 'route="/api/v1/orders"', 'method="POST"', 'status="202"')[0]).toBeGreaterThanOrEqual(1);
    expect(find(series, 'http_request_duration_seconds_count', 'route="unmatched"', 'status="404"')[0]).toBeGreaterThanOrEqual(1);
    expect(find(series, 'orders_by_status', 'status="processed"')[0]).toBeGreaterThanOrEqual(1);
    expect(find(series, 'orders_accepted_total')[0]).toBeGreaterThanOrEqual(1);
    expect(find(series, 'order_intake_batch_size_count')[0]).toBeGreaterThanOrEqual(1);
    expect(find(series, 'stock_mailbox_depth')).toEqual([0]);
    expect(find(series, 'stock_batch_size_count')[0]).toBeGreaterThanOrEqual(2);
    expect(find(series, 'payment_attempts_total', 'outcome="succeeded"')[0]).toBeGreaterThanOrEqual(1);
    expect(find(series, 'payment_duration_seconds_count', 'outcome="succeeded"')[0]).toBeGreaterThanOrEqual(1);
    expect(find(series, 'job_runs_total', 'job="warehouse-sync"', 'status="ran"')[0]).toBe(1);
    expect(find(series, 'job_items_total', 'job="warehouse-sync"', 'kind="checked"')[0]).toBeGreaterThanOrEqual(1);
    expect(find(series, 'warehouse_sync_runs_total', 'status="succeeded"')[0]).toBe(1);
    expect(find(series, 'process_resident_memory_bytes')[0]).toBeGreaterThan(1_000_000);
  });
});
