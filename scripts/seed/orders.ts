import { faker } from '@faker-js/faker';
import type { PendingQuery, Row } from 'postgres';
import type { Sql } from '../../src/db/client.ts';
import type { OrderCreate } from '../../src/modules/orders/orders.models.ts';
import type { AfterSaleService } from '../../src/modules/orders/after-sale.service.ts';
import type { OrdersService } from '../../src/modules/orders/orders.service.ts';
import type { Behaviour } from '../../src/modules/payments/simulator.ts';
import type { Stocked } from './catalog.ts';
import { Progress } from './progress.ts';

export const DEMO_CUSTOMER_PREFIX = 'demo-';

export type Quotas = { shipped: number; processed: number; cancelled: number; failed: number; reserved: number; pending: number };

/** How `total` new orders are shared between the states (every state gets one from six orders on). */
export function quotas(total: number): Quotas {
  const order: (keyof Quotas)[] = ['processed', 'pending', 'failed', 'reserved', 'shipped', 'cancelled'];
  const q: Quotas = { shipped: 0, processed: 0, cancelled: 0, failed: 0, reserved: 0, pending: 0 };
  if (total < order.length) {
    order.slice(0, total).forEach((state) => q[state]++);
    return q;
  }
  for (const state of order) q[state] = Math.max(1, Math.floor(total * (state === 'processed' ? 0.25 : 0.15)));
  // What rounding left over goes to processed.
  q.processed += total - Object.values(q).reduce((a, b) => a + b, 0);
  return q;
}

/** `splitProductId`: the product kept at two locations for the split order; none when it is not in the catalog. */
type Ctx = { sql: Sql; orders: OrdersService; afterSale: AfterSaleService; payments: Behaviour; stock: Stocked[]; splitProductId: string | undefined };
/** A condition on the orders row, built fresh for every poll. */
type Reached = (sql: Sql) => PendingQuery<Row[]>;

/**
 * Places the demo orders through the real intake and pipeline, in phases so that each ends in the
 * state it is meant for; the payment simulator is told which charges to decline or fail:
 * - processed, shipped (shipped afterwards), cancelled after processing (restocked and refunded);
 *   one processed order takes more of the split product than any one location has (from two);
 * - failed: the card is declined, the reservation is released;
 * - reserved: the first charge fails with an unknown outcome, the retry is scheduled minutes later;
 * - pending: more than the product has, the next reservation attempt is minutes away; some of
 *   them are cancelled while they wait.
 */
export async function placeDemoOrders(ctx: Ctx, total: number): Promise<Quotas> {
  const q = quotas(total);
  const cancelledAfterProcessing = Math.ceil(q.cancelled / 2);
  const available = new Map(ctx.stock.map((p) => [p.id, p.available]));
  const customers = Array.from({ length: 40 }, () => `${DEMO_CUSTOMER_PREFIX}${faker.internet.username().toLowerCase()}`);
  const inStockOrder = (): OrderCreate => {
    const candidates = ctx.stock.filter((p) => p.id !== ctx.splitProductId && available.get(p.id)! >= 3);
    if (candidates.length === 0) throw new Error('the demo catalog has no stock left for more orders: seed more products (--products)');
    const lines = faker.helpers.arrayElements(candidates, { min: 1, max: Math.min(3, candidates.length) });
    const items = lines.map((p) => ({ productId: p.id, quantity: faker.number.int({ min: 1, max: 3 }) }));
    for (const item of items) available.set(item.productId, available.get(item.productId)! - item.quantity);
    return { customerId: faker.helpers.arrayElement(customers), items };
  };

  // The split order last: the phases below ship and cancel the first ones, so it stays processed.
  const paidCount = q.processed + q.shipped + cancelledAfterProcessing;
  const split = paidCount > 0 ? await splitOrder(ctx, faker.helpers.arrayElement(customers)) : undefined;
  const paidInputs = [...Array.from({ length: paidCount - (split ? 1 : 0) }, inStockOrder), ...(split ? [split] : [])];
  const paid = await place(ctx, 'orders: paid', paidInputs, (sql) => sql`status = 'processed'`);
  await act('orders: shipped', paid.slice(0, q.shipped), (id) => ctx.afterSale.ship(id));
  const refunded = paid.slice(q.shipped, q.shipped + cancelledAfterProcessing);
  await act('orders: cancelled', refunded, (id) => ctx.orders.cancel(id));
  await waitFor(ctx.sql, 'refunds', refunded, (sql) => sql`payment_status = 'refunded'`);

  ctx.payments.failNext('decline', q.failed);
  await place(ctx, 'orders: declined', Array.from({ length: q.failed }, inStockOrder), (sql) => sql`status = 'failed'`);

  ctx.payments.failNext('error', q.reserved);
  await place(
    ctx,
    'orders: payment retry',
    Array.from({ length: q.reserved }, inStockOrder),
    (sql) => sql`status = 'reserved' AND payment_attempts = 1 AND lease_owner IS NULL`,
  );

  // Short on purpose: each asks for more than the least stocked product has left right now.
  const [scarce] = await ctx.sql<{ id: string; available: number }[]>`
    SELECT product_id AS id, on_hand - reserved AS available FROM inventory_levels
    WHERE product_id = ANY(${ctx.stock.map((p) => p.id)}::uuid[]) ORDER BY on_hand - reserved, product_id LIMIT 1`;
  const waiting = await place(
    ctx,
    'orders: waiting for stock',
    Array.from({ length: q.pending + q.cancelled - cancelledAfterProcessing }, () => ({
      customerId: faker.helpers.arrayElement(customers),
      items: [{ productId: scarce!.id, quantity: Math.min(10_000, scarce!.available + faker.number.int({ min: 1, max: 3 })) }],
    })),
    (sql) => sql`status = 'pending' AND attempts = 1`,
  );
  await act('orders: cancelled', waiting.slice(q.pending), (id) => ctx.orders.cancel(id));
  return q;
}

/**
 * One more unit of the split product than its best stocked location has: no location can cover
 * it, so the allocation takes from two. None when what is left is at one location only.
 */
async function splitOrder(ctx: Ctx, customerId: string): Promise<OrderCreate | undefined> {
  if (!ctx.splitProductId) return undefined;
  const [row] = await ctx.sql<{ most: number; total: number }[]>`
    SELECT coalesce(max(ll.on_hand - ll.reserved), 0)::int AS most, coalesce(sum(ll.on_hand - ll.reserved), 0)::int AS total
    FROM location_levels ll JOIN locations l ON l.id = ll.location_id
    WHERE ll.product_id = ${ctx.splitProductId} AND l.active AND l.deleted_at IS NULL`;
  if (row!.total <= row!.most) {
    console.log('orders: no split order this time: what is left of the split product is at one location');
    return undefined;
  }
  return { customerId, items: [{ productId: ctx.splitProductId, quantity: row!.most + 1 }] };
}

async function place(ctx: Ctx, label: string, inputs: OrderCreate[], reached: Reached): Promise<string[]> {
  const ids: string[] = [];
  const progress = new Progress(label, inputs.length);
  for (let start = 0; start < inputs.length; start += 64) {
    const placed = await Promise.all(inputs.slice(start, start + 64).map((input) => ctx.orders.place(input, undefined, 'seed')));
    ids.push(...placed.map((p) => p.order.id));
  }
  await waitFor(ctx.sql, label, ids, reached, progress);
  return ids;
}

async function act(label: string, ids: string[], action: (id: string) => Promise<unknown>) {
  const progress = new Progress(label, ids.length);
  for (const id of ids) {
    await action(id);
    progress.tick();
  }
  progress.finish();
}

/** Polls until every order in `ids` satisfies `condition` (SQL over the orders row). */
async function waitFor(sql: Sql, label: string, ids: string[], reached: Reached, progress = new Progress(label, ids.length), timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orders WHERE id = ANY(${ids}::uuid[]) AND ${reached(sql)}`;
    progress.set(row!.n);
    if (row!.n === ids.length) break;
    if (Date.now() > deadline) throw new Error(`${label}: only ${row!.n} of ${ids.length} orders got there in ${timeoutMs / 1000} s`);
    await Bun.sleep(25);
  }
  progress.finish();
}
