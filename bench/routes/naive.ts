import { DEFAULT_LOCATION_ID } from '../../src/db/schema/locations.ts';
import { Elysia } from 'elysia';
import type { Sql, TxSql } from '../../src/db/client.ts';
import { AppError, conflict } from '../../src/lib/errors.ts';
import { errors } from '../../src/http/models.ts';
import { fromCents, toCents } from '../../src/lib/money.ts';
import { Order, OrderCreate } from '../../src/modules/orders/orders.models.ts';

type Line = { productId: string; quantity: number; unitPrice: string; onHandAfter: number };

/**
 * The naive baseline: the usual design, one transaction per order. It locks the product's stock row
 * (`SELECT ... FOR UPDATE`), checks it, takes the stock and stores the order (the same one-row
 * order as the service's) and its ledger rows in one more statement, then commits: four round
 * trips per order, the stock row held for three of them. With no payment step, the order is stored
 * `processed` with one `sale` movement per line, so every invariant of the real service holds for
 * these rows as well.
 */
export function naiveRoutes(sql: Sql) {
  return new Elysia({ prefix: '/bench/naive' }).post(
    '/orders',
    async ({ body, status }) => status(202, await placeNaively(sql, body)),
    {
      parse: 'json',
      body: OrderCreate,
      response: { 202: Order, ...errors(400, 401, 403, 409, 413, 422) },
      detail: { hide: true },
    },
  );
}

export async function placeNaively(sql: Sql, input: OrderCreate): Promise<Order> {
  const quantities = new Map<string, number>();
  for (const item of input.items) {
    if (quantities.has(item.productId)) throw new AppError('validation', `product ${item.productId} appears more than once`);
    quantities.set(item.productId, item.quantity);
  }
  const id = Bun.randomUUIDv7();
  return sql.begin(async (tx) => {
    const levels = await lockLevels(tx, [...quantities.keys()]);
    const lines: Line[] = input.items.map((item) => {
      const level = levels.get(item.productId);
      if (!level) throw new AppError('validation', `not orderable: ${item.productId}`);
      const available = level.onHand - level.reserved;
      if (available < item.quantity) throw conflict(`insufficient stock for product ${item.productId}: ${item.quantity} wanted, ${available} available`);
      return { productId: item.productId, quantity: item.quantity, unitPrice: level.price, onHandAfter: level.onHand - item.quantity };
    });
    const total = fromCents(lines.reduce((sum, l) => sum + toCents(l.unitPrice) * BigInt(l.quantity), 0n));
    const createdAt = await sellAndStore(tx, { id, customerId: input.customerId, total, lines });
    return {
      id,
      customerId: input.customerId,
      status: 'processed' as const,
      items: lines.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice, allocations: [{ locationId: DEFAULT_LOCATION_ID, quantity }], shipped: 0, returned: 0 })),
      total,
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      payment: null,
      fulfilments: [],
      returns: [],
      refunded: '0.00',
      createdAt,
      updatedAt: createdAt,
    };
  });
}

/** Row locks (the default location's) in product id order, so two multi-product orders never wait on each other in a cycle. */
async function lockLevels(tx: TxSql, productIds: string[]) {
  const rows = await tx<{ productId: string; onHand: number; reserved: number; price: string }[]>`
    SELECT l.product_id AS "productId", l.on_hand AS "onHand", l.reserved, p.price::text AS price
    FROM location_levels l JOIN products p ON p.id = l.product_id
    WHERE l.product_id = ANY(${productIds}::uuid[]) AND l.location_id = ${DEFAULT_LOCATION_ID} AND p.archived_at IS NULL
    ORDER BY l.product_id
    FOR UPDATE OF l`;
  return new Map(rows.map((row) => [row.productId, row]));
}

async function sellAndStore(tx: TxSql, order: { id: string; customerId: string; total: string; lines: Line[] }): Promise<string> {
  const { lines } = order;
  const [row] = await tx<{ createdAt: string }[]>`
    WITH ll AS (
      UPDATE location_levels l SET on_hand = l.on_hand - u.quantity, awaiting_shipment = l.awaiting_shipment + u.quantity, updated_at = now()
      FROM unnest(${lines.map((l) => l.productId)}::uuid[], ${lines.map((l) => l.quantity)}::int[]) AS u(product_id, quantity)
      WHERE l.product_id = u.product_id AND l.location_id = ${DEFAULT_LOCATION_ID}
    ), lv AS (
      UPDATE inventory_levels l SET on_hand = l.on_hand - u.quantity, awaiting_shipment = l.awaiting_shipment + u.quantity,
             orders_placed = l.orders_placed + 1, version = l.version + 1, updated_at = now()
      FROM unnest(${lines.map((l) => l.productId)}::uuid[], ${lines.map((l) => l.quantity)}::int[]) AS u(product_id, quantity)
      WHERE l.product_id = u.product_id
    ), o AS (
      INSERT INTO orders (id, customer_id, status, born_status, items, allocations, total, reserved_at, processed_at)
      VALUES (${order.id}, ${order.customerId}, 'processed', 'processed',
              ${JSON.stringify(lines.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice })))}::jsonb,
              ${JSON.stringify(lines.map(({ productId, quantity }) => ({ productId, locationId: DEFAULT_LOCATION_ID, quantity })))}::jsonb,
              ${order.total}::numeric, now(), now())
      RETURNING created_at
    ), mv AS (
      INSERT INTO stock_movements (product_id, location_id, delta, reason, order_ids, on_hand_after)
      SELECT x.product_id, ${DEFAULT_LOCATION_ID}::uuid, -x.quantity, 'sale', ARRAY[${order.id}::uuid], x.on_hand_after
      FROM unnest(${lines.map((l) => l.productId)}::uuid[], ${lines.map((l) => l.quantity)}::int[], ${lines.map((l) => l.onHandAfter)}::int[])
        AS x(product_id, quantity, on_hand_after)
    )
    SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt" FROM o`;
  return row!.createdAt;
}
