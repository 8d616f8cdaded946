import { createHash } from 'node:crypto';
import type { StockActors } from '../../actors/stock-actors.ts';
import type { Sql } from '../../db/client.ts';
import { conflict, invalid, notFound } from '../../lib/errors.ts';
import { decodeCursor, isUuidKey, pageOf } from '../../lib/paging.ts';
import { transferView, type Line, type TransferOutcome, type TransferSteps } from './transfer-steps.ts';
import type { Transfer, TransferCreate, TransferListQuery } from './transfers.models.ts';
import * as q from './transfers.queries.ts';

/** Each product once: a product twice is refused (422 naming the repeat), as in orders. */
function onceEach(lines: readonly Line[]): void {
  const seen = new Map<string, number>();
  lines.forEach((line, i) => {
    const first = seen.get(line.productId);
    if (first !== undefined) throw invalid(`body.items[${i}].productId`, `repeats items[${first}]: name each product once, with its total quantity`);
    seen.set(line.productId, i);
  });
}

/** The same source, destination and lines in the same order: the same request. */
const requestHash = (input: TransferCreate) =>
  createHash('sha256')
    .update(JSON.stringify([input.fromLocationId, input.toLocationId, input.items.map((i) => [i.productId, i.quantity])]))
    .digest('hex');

/**
 * Moving stock between locations. Reads go to the database; every change is a step of the
 * transfer's products' stock actors (`TransferSteps`), in the same transaction as the stock.
 */
export class TransfersService {
  /** Idempotency keys (in their scopes) whose first request is still on its way. */
  private readonly keysInFlight = new Set<string>();

  constructor(
    private readonly sql: Sql,
    private readonly actors: StockActors,
    private readonly steps: TransferSteps,
  ) {}

  /** `scope` is the caller's credential scope: idempotency keys of two callers never collide. */
  async create(input: TransferCreate, idempotencyKey: string | undefined, scope: string): Promise<TransferOutcome> {
    if (input.fromLocationId === input.toLocationId) throw invalid('body.toLocationId', 'is the source: a transfer goes from one location to another');
    onceEach(input.items);
    const inFlight = idempotencyKey === undefined ? null : `${scope}\n${idempotencyKey}`;
    if (inFlight !== null && this.keysInFlight.has(inFlight)) throw conflict('a request with this Idempotency-Key is still being processed');
    const key = idempotencyKey ?? null;
    const act = { kind: 'create' as const, id: Bun.randomUUIDv7(), input, scope, key, hash: key === null ? null : requestHash(input) };
    if (inFlight !== null) this.keysInFlight.add(inFlight);
    try {
      return await this.actors.submit(this.steps.work(act, input.items.map((i) => i.productId)));
    } finally {
      if (inFlight !== null) this.keysInFlight.delete(inFlight);
    }
  }

  async get(id: string): Promise<Transfer> {
    return transferView(await this.find(id));
  }

  async list(query: TransferListQuery): Promise<{ items: Transfer[]; nextCursor: string | null }> {
    const limit = query.limit ?? 50;
    const before = decodeCursor(query.cursor, isUuidKey);
    const rows = await q.listTransfers(this.sql, { status: query.status, beforeId: before?.[0], limit: limit + 1 });
    return pageOf(rows, limit, transferView, (row) => [row.id]);
  }

  /** Some or all of what is on its way arrived at the destination. */
  async receive(id: string, items: Line[]): Promise<Transfer> {
    onceEach(items);
    const row = await this.find(id);
    return (await this.actors.submit(this.steps.work({ kind: 'receive', id, items }, row.items.map((i) => i.productId)))).transfer;
  }

  /** What is still on its way goes back to the source. */
  async cancel(id: string): Promise<Transfer> {
    const row = await this.find(id);
    if (row.status === 'cancelled') return transferView(row);
    if (row.status === 'received') throw conflict('this transfer was received in full: nothing is left to cancel', { transferStatus: row.status });
    return (await this.actors.submit(this.steps.work({ kind: 'cancel', id }, row.items.map((i) => i.productId)))).transfer;
  }

  private async find(id: string): Promise<q.TransferRow> {
    const row = await q.findTransfer(this.sql, id);
    if (!row) throw notFound(`transfer ${id}`);
    return row;
  }
}
