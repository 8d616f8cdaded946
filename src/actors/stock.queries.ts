import type { Executor } from '../db/client.ts';
import type { OrderStatus, PaymentStatus } from '../modules/orders/order-state.ts';
import type { LogRow, WorkingOrder } from './stock-plan.ts';

/** Advisory-lock key of a product's stock: 64 random bits of its UUID (signed, as Postgres bigint). */
export function productLockKey(productId: string): bigint {
  return BigInt.asIntN(64, BigInt(`0x${productId.replaceAll('-', '').slice(16)}`));
}

/**
 * Takes the stock locks of several products in ascending key order, so that two transactions that
 * need overlapping products can never wait for each other in a cycle.
 */
export async function lockProducts(tx: Executor, productIds: string[]): Promise<void> {
  const keys = [...new Set(productIds.map(productLockKey))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  // One statement per key, pipelined: the server runs them in this order, in one round trip.
  await Promise.all(keys.map((key) => tx`SELECT pg_advisory_xact_lock(${key.toString()}::bigint)`));
}

export type LevelRow = { productId: string; onHand: number; reserved: number; awaitingShipment: number; updatedAt: string };

export function readLevels(tx: Executor, productIds: string[]) {
  return tx<LevelRow[]>`
    SELECT product_id AS "productId", on_hand AS "onHand", reserved, awaiting_shipment AS "awaitingShipment", updated_at AS "updatedAt"
    FROM inventory_levels WHERE product_id = ANY(${productIds}::uuid[])`;
}

export type OrderRow = {
  id: string;
  version: number;
  status: OrderStatus;
  attempts: number;
  lastError: string | null;
  paymentStatus: PaymentStatus | null;
  paymentReference: string | null;
  paymentAttempts: number;
  leaseOwner: string | null;
};

/** No row lock: the write is fenced on `version`, and a batch that lost a race is redone. */
export function readOrders(tx: Executor, orderIds: string[]) {
  if (orderIds.length === 0) return Promise.resolve([] as OrderRow[]);
  return tx<OrderRow[]>`
    SELECT id, version, status, attempts, last_error AS "lastError", payment_status AS "paymentStatus",
           payment_reference AS "paymentReference", payment_attempts AS "paymentAttempts", lease_owner AS "leaseOwner"
    FROM orders WHERE id = ANY(${orderIds}::uuid[])`;
}

export type LevelDelta = { productId: string; onHand: number; reserved: number; awaitingShipment: number };
export type NewMovement = {
  productId: string;
  delta: number;
  reason: string;
  orderId: string | null;
  syncRunId: string | null;
  onHandAfter: number;
};

export type StockWrite = {
  levels: LevelDelta[];
  movements: NewMovement[];
  orders: WorkingOrder[];
  logs: LogRow[];
  /** Outbox payload of this transaction (null when nothing observable changed). */
  changes: unknown[] | null;
};

/**
 * Writes a whole batch in one statement (data-modifying CTEs always run, read or not). Order rows
 * are fenced on the version the batch read; the ids actually written come back so the caller can
 * tell whether someone else changed an order meanwhile.
 */
export async function writeStockBatch(tx: Executor, write: StockWrite): Promise<{ at: string; written: string[] }> {
  const { levels, movements, orders, logs } = write;
  const [row] = await tx<{ at: string; written: string[] | null }[]>`
    WITH lv AS (
      UPDATE inventory_levels l
      SET on_hand = l.on_hand + u.d_on_hand, reserved = l.reserved + u.d_reserved,
          awaiting_shipment = l.awaiting_shipment + u.d_awaiting, updated_at = now()
      FROM unnest(${levels.map((l) => l.productId)}::uuid[], ${levels.map((l) => l.onHand)}::int[],
                  ${levels.map((l) => l.reserved)}::int[], ${levels.map((l) => l.awaitingShipment)}::int[])
        AS u(product_id, d_on_hand, d_reserved, d_awaiting)
      WHERE l.product_id = u.product_id
      RETURNING 1
    ), mv AS (
      INSERT INTO stock_movements (product_id, delta, reason, order_id, sync_run_id, on_hand_after)
      SELECT * FROM unnest(${movements.map((m) => m.productId)}::uuid[], ${movements.map((m) => m.delta)}::int[],
                           ${movements.map((m) => m.reason)}::text[], ${movements.map((m) => m.orderId)}::uuid[],
                           ${movements.map((m) => m.syncRunId)}::uuid[], ${movements.map((m) => m.onHandAfter)}::int[])
      RETURNING 1
    ), od AS (
      UPDATE orders o
      SET status = u.status, attempts = u.attempts,
          next_attempt_at = now() + u.next_delay_ms * interval '1 millisecond',
          last_error = u.last_error, payment_status = u.payment_status, payment_reference = u.payment_reference,
          payment_attempts = u.payment_attempts,
          reconcile_at = now() + u.reconcile_delay_ms * interval '1 millisecond',
          lease_owner = u.lease_owner,
          lease_until = CASE WHEN u.lease_owner IS NULL THEN NULL ELSE now() + u.lease_ms * interval '1 millisecond' END,
          version = o.version + 1, updated_at = now()
      FROM unnest(${orders.map((o) => o.id)}::uuid[], ${orders.map((o) => o.version)}::int[], ${orders.map((o) => o.status)}::text[],
                  ${orders.map((o) => o.attempts)}::int[], ${orders.map((o) => o.nextDelayMs)}::int[], ${orders.map((o) => o.lastError)}::text[],
                  ${orders.map((o) => o.paymentStatus)}::text[], ${orders.map((o) => o.paymentReference)}::text[],
                  ${orders.map((o) => o.paymentAttempts)}::int[], ${orders.map((o) => o.reconcileDelayMs)}::int[],
                  ${orders.map((o) => o.leaseOwner)}::uuid[], ${orders.map((o) => o.leaseMs)}::int[])
        AS u(id, version, status, attempts, next_delay_ms, last_error, payment_status, payment_reference,
             payment_attempts, reconcile_delay_ms, lease_owner, lease_ms)
      WHERE o.id = u.id AND o.version = u.version
      RETURNING o.id
    ), lg AS (
      INSERT INTO order_logs (order_id, status, message, error_message)
      SELECT * FROM unnest(${logs.map((l) => l.orderId)}::uuid[], ${logs.map((l) => l.status)}::text[],
                           ${logs.map((l) => l.message)}::text[], ${logs.map((l) => l.errorMessage)}::text[])
      RETURNING 1
    ), ev AS (
      INSERT INTO events (changes) SELECT ${write.changes === null ? null : JSON.stringify(write.changes)}::jsonb
      WHERE ${write.changes !== null}
      RETURNING 1
    )
    SELECT now()::text AS at, (SELECT array_agg(id) FROM od) AS written`;
  return { at: row!.at, written: row!.written ?? [] };
}
