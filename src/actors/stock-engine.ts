import { pgCode, type Executor, type Sql } from '../db/client.ts';
import { outboxText } from '../db/outbox.ts';
import { AppError } from '../lib/errors.ts';
import { StockPlan, type StockDesk } from './stock-plan.ts';
import type { AllocationStrategy } from './allocation.ts';
import { lockProducts, readLevels, readPlaces, stockSession, writeStock } from './stock.queries.ts';

/**
 * A unit of stock work: what it needs locked, and what it does to the levels. Work that also writes
 * rows of its own (an order, say) names a participant: the owner of those rows, which reads and
 * writes them inside the same transaction. The engine knows nothing of orders.
 */
export type StockWork<R = unknown> = {
  readonly productIds: readonly string[];
  readonly participant?: Participant<StockWork<R>, unknown>;
  /** Stock-only work (no participant): applies itself. */
  apply?(desk: StockDesk): R;
};

/** A work that applied, with what it returned (the participant writes its rows from these). */
export type Applied<W> = { work: W; result: unknown };

/**
 * The owner of rows that must change with stock, atomically: the orders module for order rows.
 * - `read` runs in the batch's transaction, pipelined with the locks and the levels;
 * - `apply` decides one work on the batch's copy of the levels (arrival order); it throws
 *   `AppError` to fail that work alone (its stock changes are rolled back);
 * - `prepare` turns the applied works into its write and its part of the transaction's outbox
 *   record. A write that finds a row it fenced on changed meanwhile fails with SR001
 *   (`stockroom_fence`): the batch is rolled back and run again on fresh rows;
 * - `committed`, once the transaction committed (not when it rolled back or is run again).
 */
export interface Participant<W, Ctx> {
  read(tx: Executor, works: W[]): Promise<Ctx>;
  apply(desk: StockDesk, work: W, ctx: Ctx): unknown;
  prepare(applied: Applied<W>[], ctx: Ctx): { write(tx: Executor): Promise<void>; outbox?: Record<string, unknown[]> };
  committed?(ctx: Ctx): void;
}

/** SQLSTATE of `stockroom_fence`: a fenced write wrote fewer rows than it meant to (migration 0003). */
const LOST_RACE = 'SR001';

/** A batch that keeps losing its fence to claims is given up (its works fail) rather than retried for ever. */
const MAX_RACES = 5;

/** What every work of a batch came to: its result, or the AppError it failed with alone. */
export type BatchOutcome = { results: unknown[] };

/**
 * Runs a batch of work for a set of products in one transaction that holds the products' advisory
 * locks: levels and the participants' rows are read under the locks, each work is applied in
 * arrival order on an in-memory copy, and everything is written back at once (one round trip for
 * the reads, one for the writes), with one outbox record for the transaction.
 */
export async function runStockBatch(sql: Sql, productIds: readonly string[], works: StockWork[], strategy: AllocationStrategy): Promise<BatchOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOnce(sql, productIds, works, strategy);
    } catch (error) {
      if (pgCode(error) !== LOST_RACE || attempt >= MAX_RACES) throw error;
    }
  }
}

type Group = { participant: Participant<StockWork, unknown>; works: StockWork[]; ctx?: unknown };

function byParticipant(works: StockWork[]): Group[] {
  const groups = new Map<Participant<StockWork, unknown>, Group>();
  for (const work of works) {
    if (!work.participant) continue;
    const group = groups.get(work.participant) ?? { participant: work.participant, works: [] };
    group.works.push(work);
    groups.set(work.participant, group);
  }
  return [...groups.values()];
}

async function runOnce(sql: Sql, productIds: readonly string[], works: StockWork[], strategy: AllocationStrategy): Promise<BatchOutcome> {
  const groups = byParticipant(works);
  const outcome = await pipelined(sql, async (tx) => {
    const [at, , levels, places, ...contexts] = await Promise.all([
      stockSession(tx),
      lockProducts(tx, productIds),
      readLevels(tx, productIds),
      readPlaces(tx, productIds),
      ...groups.map((group) => group.participant.read(tx, group.works)),
    ]);
    groups.forEach((group, i) => (group.ctx = contexts[i]));
    const plan = new StockPlan(levels, places, at, strategy);
    const applied = new Map<Group, Applied<StockWork>[]>();
    const results = works.map((work) => {
      const mark = plan.mark();
      try {
        const group = work.participant ? groups.find((g) => g.participant === work.participant)! : undefined;
        const result = group ? group.participant.apply(plan, work, group.ctx) : work.apply!(plan);
        if (group) {
          let done = applied.get(group);
          if (!done) applied.set(group, (done = []));
          done.push({ work, result });
        }
        return result;
      } catch (error) {
        plan.rollback(mark);
        if (error instanceof AppError) return error;
        throw error;
      }
    });
    const prepared = [...applied].map(([group, done]) => group.participant.prepare(done, group.ctx));
    const outbox = outboxText(mergeParts([{ inventory: plan.inventoryChanges() }, ...prepared.map((p) => p.outbox ?? {})]));
    const { levels: levelDeltas, places: placeDeltas } = plan.deltas();
    const writes = [
      levelDeltas.length > 0 || outbox !== null ? writeStock(tx, { levels: levelDeltas, places: placeDeltas, movements: plan.movements, outbox }) : Promise.resolve(),
      ...prepared.map((p) => p.write(tx)),
    ];
    return async () => {
      await Promise.all(writes);
      return { results };
    };
  });
  for (const group of groups) group.participant.committed?.(group.ctx);
  return outcome;
}

/** The parts of one transaction's outbox record, each kind's lists joined. */
function mergeParts(parts: Record<string, unknown[]>[]): Record<string, unknown[]> {
  const merged: Record<string, unknown[]> = {};
  for (const part of parts) {
    for (const [kind, values] of Object.entries(part)) merged[kind] = [...(merged[kind] ?? []), ...values];
  }
  return merged;
}

/**
 * A transaction in two round trips: BEGIN goes out with the first statements (the locks and
 * reads), and COMMIT right behind the writes. `body` sends its reads, decides, sends its writes
 * (not awaited) and returns what waits for them. A write that fails aborts the transaction, so the
 * COMMIT sent behind it rolls back instead; any other failure is rolled back explicitly. The
 * connection is a reserved one, so nothing else can come between the statements.
 */
async function pipelined<T>(sql: Sql, body: (tx: Executor) => Promise<() => Promise<T>>): Promise<T> {
  const tx = await sql.reserve();
  let ended = false;
  try {
    const [, finish] = await Promise.all([tx`BEGIN`.execute(), body(tx)]);
    const commit = tx`COMMIT`.execute();
    try {
      const result = await finish();
      await commit;
      ended = true;
      return result;
    } finally {
      await commit.catch(() => {});
    }
  } finally {
    if (!ended) await tx`ROLLBACK`.execute().catch(() => {});
    tx.release();
  }
}
