import { afterAll, beforeAll, expect, test } from 'bun:test';
import { expectStockConsistent } from './support/invariants.ts';
import { insertOrderRow } from './support/orders.ts';
import { createProduct, quietJobs, startTestService, type TestService } from './support/service.ts';

/**
 * Every change of an order is one version: two steps of one order that land in one stock batch
 * report their versions in their events (a shipment is two changes: its fulfilment, then the
 * status), and the row ends at the last one with both steps' times.
 */
let t: TestService;
beforeAll(async () => {
  t = await startTestService(quietJobs, { background: false });
});
afterAll(() => t.close());

test('a sale and a shipment of one order in one batch: versions 2, 3 (the fulfilment) and 4, each in its event; the row at 4 with both times', async () => {
  const product = await createProduct(t.api, { initialStock: 10 });
  const id = await insertOrderRow(t.db.sql, product.id, { status: 'reserved', quantity: 2 });
  await t.db.sql`UPDATE inventory_levels SET reserved = 2 WHERE product_id = ${product.id}`;
  const lines = [{ productId: product.id, quantity: 2 }];
  const { actors, orders } = t.service;
  const [{ lastEvent }] = await t.db.sql<[{ lastEvent: string }]>`SELECT coalesce(max(id), 0)::text AS "lastEvent" FROM events`;

  // Submitted in one tick, the two steps share the product's next batch.
  const batchesBefore = actors.stats().batches;
  const [sold, shipped] = await Promise.all([
    actors.submit(orders.steps.work(id, lines, { kind: 'sell', version: 1, charge: 'ch_together', attempts: 1 }), { admit: false }),
    actors.submit(orders.steps.work(id, lines, { kind: 'ship' })),
  ]);
  expect(actors.stats().batches - batchesBefore).toBe(1);
  expect(sold).toEqual({ outcome: 'moved', status: 'processed', version: 2, made: [] });
  expect(shipped).toMatchObject({ outcome: 'moved', status: 'shipped', version: 4, made: [{ kind: 'fulfilment' }] });

  const records = await t.db.sql<{ status: string; previous: string; version: number; made: string | null }[]>`
    SELECT o->>'status' AS status, o->>'previous' AS previous, (o->>'version')::int AS version, o->'made'->>'kind' AS made
    FROM events e CROSS JOIN LATERAL json_array_elements(e.changes->'orders') o
    WHERE e.id > ${lastEvent}::bigint AND o->>'id' = ${id} ORDER BY e.id`;
  expect([...records]).toEqual([
    { status: 'processed', previous: 'reserved', version: 2, made: null },
    { status: 'processed', previous: 'processed', version: 3, made: 'fulfilment' },
    { status: 'shipped', previous: 'processed', version: 4, made: null },
  ]);
  const [row] = await t.db.sql`SELECT version, status, processed_at IS NOT NULL AS paid, shipped_at IS NOT NULL AS shipped FROM orders WHERE id = ${id}`;
  expect(row).toEqual({ version: 4, status: 'shipped', paid: true, shipped: true });
  const steps = (await t.api.get(`/api/v1/orders/${id}/logs`, 'client')).body.items.map((l: { id: string }) => l.id);
  expect(steps).toEqual(expect.arrayContaining(['processed', 'shipped']));
  await expectStockConsistent(t.db.sql);
});
