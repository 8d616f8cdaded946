import type { Sql } from '../../src/db/client.ts';
import { PG_INT_MAX } from '../../src/lib/bounds.ts';
import type { EventRecord, InventoryRecord, OrderRecord } from '../../src/modules/events/records.ts';

/**
 * Outbox rows written as the format-2 writers will write them (records.ts): tests of the delivery
 * engine feed it these, whatever format the order and stock writers of this build still use.
 */
export async function writeRecord(sql: Sql, record: EventRecord): Promise<void> {
  await sql`INSERT INTO events (changes) VALUES (${JSON.stringify(record)}::jsonb)`;
}

export function orderRecord(id: string, status: OrderRecord['status'], previous: OrderRecord['previous'], version: number): OrderRecord {
  return {
    id,
    customerId: 'webhook-customer',
    status,
    previous,
    version,
    items: [{ productId: '01900000-0000-7000-8000-00000000000b', quantity: 1, unitPrice: '3.00' }],
    total: '3.00',
    attempts: 0,
    lastError: null,
    payment: status === 'processed' ? { status: 'succeeded', reference: `ch_${id.slice(-6)}`, attempts: 1 } : null,
    nextAttemptInMs: null,
    ...(previous === null ? {} : { createdAt: '2026-11-24T10:00:00.000Z' }),
  };
}

export function inventoryRecord(productId: string, previousAvailable: number, available: number, lowStockThreshold?: number | null): InventoryRecord {
  return { productId, onHand: available, reserved: 0, awaitingShipment: 0, previousAvailable, ...(lowStockThreshold === undefined ? {} : { lowStockThreshold }) };
}

const LIFE = [
  ['pending', null],
  ['reserved', 'pending'],
  ['processed', 'reserved'],
] as const;

/** Step `step` (0..2) of an order's life, as its own transaction writes it: accepted pending, reserved, processed. */
export async function writeOrderStep(sql: Sql, id: string, step: number): Promise<void> {
  const [status, previous] = LIFE[step]!;
  await writeRecord(sql, { v: 2, orders: [orderRecord(id, status, previous, step + 1)] });
}

/** An order's whole life, one record per transaction. */
export async function writeOrderLife(sql: Sql, id: string): Promise<void> {
  for (let step = 0; step < LIFE.length; step++) await writeOrderStep(sql, id, step);
}

/**
 * True once the subscription has taken every outbox row (its cursor past the last one, not inside
 * a row) and has no delivery pending: nothing more can go out to it until a new event comes. The
 * state a test checks before saying "and nothing else arrived".
 */
export async function webhookSettled(sql: Sql, webhookId: string): Promise<boolean> {
  const [row] = await sql<{ settled: boolean }[]>`
    SELECT w.cursor_index = ${PG_INT_MAX}
       AND NOT EXISTS (SELECT 1 FROM events e WHERE (e.tx, e.id) > (w.cursor_tx, w.cursor_row))
       AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending') AS settled
    FROM webhooks w WHERE w.id = ${webhookId}`;
  if (!row) throw new Error(`no webhook ${webhookId}`);
  return row.settled;
}
