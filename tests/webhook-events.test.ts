import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { expandRow, type EventRecord, type OrderRecord } from '../src/modules/events/records.ts';
import { webhookEvents } from '../src/modules/webhooks/event-map.ts';
import { createProduct, quietJobs, startTestService, type TestService } from './support/service.ts';

/** The outbox → webhook mapping, on records shaped exactly as records.ts (format 2) says. */
const at = '2026-11-24 10:00:00.000+00';
const order = (status: OrderRecord['status'], previous: OrderRecord['previous'], version = 1): OrderRecord => ({
  id: '01900000-0000-7000-8000-0000000000aa',
  customerId: 'alice',
  status,
  previous,
  version,
  items: [{ productId: '01900000-0000-7000-8000-0000000000bb', quantity: 2, unitPrice: '5.00' }],
  total: '10.00',
  attempts: 0,
  lastError: null,
  payment: null,
  nextAttemptInMs: null,
});
const mapped = (changes: EventRecord, thresholds = new Map<string, number | null>()) =>
  expandRow({ tx: '900', id: '7', changes, createdAt: at }).flatMap((event) => webhookEvents(event, thresholds));
const level = (previousAvailable: number, onHand: number, reserved: number, lowStockThreshold?: number | null) => ({
  productId: '01900000-0000-7000-8000-0000000000bb',
  onHand,
  reserved,
  awaitingShipment: 0,
  previousAvailable,
  ...(lowStockThreshold === undefined ? {} : { lowStockThreshold }),
});

describe('order changes', () => {
  test('accepted pending: order.created with the Order (no bookkeeping fields)', () => {
    const [created, ...rest] = mapped({ v: 2, orders: [order('pending', null)] });
    expect(rest).toEqual([]);
    expect(created!.type).toBe('order.created');
    expect(created!.id).toBe('900-7-0.order.created');
    expect(created!.key).toBe('order:01900000-0000-7000-8000-0000000000aa');
    expect(created!.data).toEqual({
      id: '01900000-0000-7000-8000-0000000000aa',
      customerId: 'alice',
      status: 'pending',
      items: [{ productId: '01900000-0000-7000-8000-0000000000bb', quantity: 2, unitPrice: '5.00', allocations: [], shipped: 0, returned: 0 }],
      total: '10.00',
      attempts: 0,
      lastError: null,
      payment: null,
      fulfilments: [],
      returns: [],
      refunded: '0.00',
      nextAttemptAt: null,
      createdAt: '2026-11-24T10:00:00.000Z',
      updatedAt: '2026-11-24T10:00:00.000Z',
    });
  });

  test('born reserved, failed or cancelled: order.created then order.<status>, same data, same key', () => {
    for (const status of ['reserved', 'failed', 'cancelled'] as const) {
      const events = mapped({ v: 2, orders: [order(status, null)] });
      expect(events.map((e) => e.type)).toEqual(['order.created', `order.${status}`]);
      expect(events[0]!.data).toEqual(events[1]!.data);
      expect(new Set(events.map((e) => e.key)).size).toBe(1);
    }
  });

  test('a status change is order.<status>; a failed attempt (same status) is nothing', () => {
    expect(mapped({ v: 2, orders: [order('processed', 'reserved', 3)] }).map((e) => e.type)).toEqual(['order.processed']);
    expect(mapped({ v: 2, orders: [order('shipped', 'processed', 4)] }).map((e) => e.type)).toEqual(['order.shipped']);
    expect(mapped({ v: 2, orders: [order('pending', 'pending', 2)] })).toEqual([]);
  });

  test('a parcel is order.fulfilment.created and a return order.returned, the document beside the order; the last parcel then order.shipped', () => {
    const parcel = {
      id: '01900000-0000-7000-8000-0000000000f1',
      orderId: order('processed', null).id,
      locationId: '01900000-0000-7000-8000-00000000d0c0',
      items: [{ productId: '01900000-0000-7000-8000-0000000000bb', quantity: 2 }],
      trackingNumber: 'T-1',
      createdAt: '2026-11-24T10:00:00.000Z',
    };
    const returned = {
      ...parcel,
      id: '01900000-0000-7000-8000-0000000000f2',
      items: [{ ...parcel.items[0]!, quantity: 1, disposition: 'restock' as const }],
      refund: { status: 'pending' as const, amount: '5.00', reference: null },
    };
    const events = mapped({
      v: 2,
      orders: [
        { ...order('processed', 'processed', 4), fulfilments: [parcel], made: { kind: 'fulfilment', id: parcel.id } },
        { ...order('shipped', 'processed', 5), fulfilments: [parcel] },
        { ...order('shipped', 'shipped', 6), fulfilments: [parcel], returns: [returned], made: { kind: 'return', id: returned.id } },
      ],
    });
    expect(events.map((e) => e.type)).toEqual(['order.fulfilment.created', 'order.shipped', 'order.returned']);
    expect(events[0]!.data).toMatchObject({ id: parcel.orderId, status: 'processed', fulfilment: parcel, items: [{ shipped: 2, returned: 0 }] });
    expect(events[2]!.data).toMatchObject({ status: 'shipped', return: returned, items: [{ shipped: 2, returned: 1 }], refunded: '0.00' });
    expect(new Set(events.map((e) => e.key))).toEqual(new Set([`order:${parcel.orderId}`]));
  });

  test('a row written before format 2 maps with what it has', () => {
    const events = expandRow({ tx: '5', id: '1', changes: [{ type: 'order.status', orderId: 'o-1', status: 'pending', previous: null, attempts: 0 }], createdAt: at }).flatMap((e) =>
      webhookEvents(e, new Map()),
    );
    expect(events.map((e) => [e.type, e.data.id, e.data.status])).toEqual([['order.created', 'o-1', 'pending']]);
  });
});

describe('inventory changes and thresholds', () => {
  const types = (changes: EventRecord, thresholds?: Map<string, number | null>) => mapped(changes, thresholds).map((e) => e.type);

  test('inventory.changed carries the Inventory', () => {
    const [changed] = mapped({ v: 2, inventory: [level(10, 12, 3, 2)] });
    // A record from before locations: no location counts, held and incoming 0.
    expect(changed!.data).toEqual({
      productId: '01900000-0000-7000-8000-0000000000bb',
      onHand: 12,
      reserved: 3,
      held: 0,
      incoming: 0,
      available: 9,
      awaitingShipment: 0,
      updatedAt: '2026-11-24T10:00:00.000Z',
    });
  });

  test('inventory.low once per downward crossing of the threshold, not while it stays below', () => {
    expect(types({ v: 2, inventory: [level(6, 5, 0, 5)] })).toEqual(['inventory.changed', 'inventory.low']); // 6 → 5, threshold 5
    expect(types({ v: 2, inventory: [level(5, 4, 0, 5)] })).toEqual(['inventory.changed']); // already below
    expect(types({ v: 2, inventory: [level(4, 9, 0, 5)] })).toEqual(['inventory.changed']); // upwards
    expect(types({ v: 2, inventory: [level(9, 2, 0, 5)] })).toEqual(['inventory.changed', 'inventory.low']); // a jump across
    expect(types({ v: 2, inventory: [level(9, 2, 0, null)] })).toEqual(['inventory.changed']); // no threshold
    const [, low] = mapped({ v: 2, inventory: [level(6, 5, 0, 5)] });
    expect(low!.data.lowStockThreshold).toBe(5);
  });

  test('inventory.out_of_stock when available reaches 0 from above (and low with it)', () => {
    expect(types({ v: 2, inventory: [level(3, 5, 5, 2)] })).toEqual(['inventory.changed', 'inventory.low', 'inventory.out_of_stock']);
    expect(types({ v: 2, inventory: [level(1, 1, 1)] }, new Map())).toEqual(['inventory.changed', 'inventory.out_of_stock']);
    expect(types({ v: 2, inventory: [level(0, 0, 0, 2)] })).toEqual(['inventory.changed']); // stays at 0
  });

  test('a record without the threshold uses the one looked up', () => {
    const product = '01900000-0000-7000-8000-0000000000bb';
    expect(types({ v: 2, inventory: [level(8, 7, 0)] }, new Map([[product, 7]]))).toEqual(['inventory.changed', 'inventory.low']);
    expect(types({ v: 2, inventory: [level(8, 7, 0)] }, new Map([[product, null]]))).toEqual(['inventory.changed']);
  });
});

describe('a finished warehouse sync', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService({ ...quietJobs, WAREHOUSE_DRIFT_INTERVAL_MS: '0' });
  });
  afterAll(() => t.close());

  test('writes one outbox record with its syncRun when the run is recorded, which becomes warehouse.sync.completed', async () => {
    await createProduct(t.api, { initialStock: 4 });
    const run = await t.api.post('/api/v1/warehouse/sync');
    expect(run.status).toBe(200);
    const rows = await t.db.sql<{ tx: string; id: string; changes: EventRecord; createdAt: string }[]>`
      SELECT tx::text, id::text, changes, created_at::text AS "createdAt" FROM events WHERE changes::jsonb ? 'syncRun'`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.changes.syncRun).toEqual(run.body);
    const events = expandRow(rows[0]!).flatMap((e) => webhookEvents(e, new Map()));
    expect(events.map((e) => [e.type, e.key])).toEqual([['warehouse.sync.completed', 'warehouse']]);
    expect(events[0]!.data).toEqual(run.body);
  });
});
