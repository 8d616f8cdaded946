import { pgCode, type Executor, type Sql } from '../db/client.ts';
import { outboxText } from '../db/outbox.ts';
import { AppError } from '../lib/errors.ts';
import type { AllocationStrategy } from './allocation.ts';
import { Deferred, StockPlan, type Lapse, type StockDesk, type StockRead } from './stock-plan.ts';
import { readLevels, readPlaces, stockSession, stockWrite, writeBatch, type WritePart } from './stock.queries.ts';

/**
 * A unit of stock work: what it needs locked, and what it does to the levels. Work that also writes
 * rows of its own (an order, say) names a participant: the owner of those rows, which reads and
 * writes them inside the same transaction. The engine knows nothing of orders.
 */
export type StockWork<R = unknown> = {
  readonly productIds: readonly string[];
  readonly participant?: Participant<StockWork<R>, unknown>;
  /** Rows of the batch's keeper this work names (an order placed with a hold): the keeper reads them for the batch. */
  readonly keeps?: readonly string[];
  /** Stock-only work (no participant): applies itself. */
  apply?(desk: StockDesk): R;
};

/** A work that applied, with what it returned (the participant writes its rows from these). */
export type Applied<W> = { work: W; result: unknown };

/** A participant's share of a batch: its part of the one write statement, and of the outbox record. */
export type Prepared = { write?(tx: Executor): WritePart; outbox?: Record<string, unknown[]> };

/**
 * The owner of rows that must change with stock, atomically: the orders module for order rows.
 * - `read` runs in the batch's transaction, pipelined with the locks and the levels;
 * - `recall`, when it has it, gives the batch's state without reading, for a batch decided from
 *   memory (`StockDesk.recalled`): only for works it says it can (`canRecall`); what it recalls
 *   must be what `read` would find, or the batch's fenced write fails and it is decided again;
 * - `apply` decides one work on the batch's copy of the levels (arrival order); it throws
 *   `AppError` to fail that work alone (its stock changes are rolled back, not its own state: it
 *   changes that only once nothing can throw any more), or `Deferred`, in a batch decided from
 *   memory, for a work whose answer would not be fenced. `kept` is the keeper's state in the batch
 *   (see `Keeper`), which the work may change through the keeper's own functions;
 * - `prepare` turns the applied works into its part of the batch's one write statement and of the
 *   transaction's outbox record. A write that finds a row it fenced on changed meanwhile fails with
 *   SR001 (`stockroom_fence`): the batch is rolled back and run again on fresh rows;
 * - `committed`, once the transaction committed (not when it rolled back or is run again), with
 *   the transaction's time.
 */
export interface Participant<W, Ctx> {
  read(tx: Executor, works: W[]): Promise<Ctx>;
  canRecall?(work: W): boolean;
  recall?(works: W[]): Ctx;
  apply(desk: StockDesk, work: W, ctx: Ctx, kept?: unknown): unknown;
  prepare(applied: Applied<W>[], ctx: Ctx): Prepared;
  committed?(ctx: Ctx, at: string): void;
}

/** What a keeper reads for a batch: the rows its works name, and the lapsed reservations of some of the batch's products. */
export type KeeperNeed = { named: readonly string[]; lapsing: readonly string[] };

/**
 * The owner of reservations that outlive a request and may lapse (holds: src/modules/holds). It is
 * the participant of its own works, and it joins other batches where its rows matter: a work names
 * one (`keeps`), or a product of the batch has units held, whose lapsed reservations a reservation
 * that finds too little stock gives back first (`StockDesk.allocate`). A batch of products with
 * nothing held, whose works name none of its rows, never calls it: it costs what it did before.
 * It never takes part in a batch decided from memory (it has no `recall`).
 * - `read` reads what `need` says, into a new state or (`into`) the state it read earlier in the
 *   same batch;
 * - `lapses` are the reservations of that state whose time is up, as of the transaction;
 * - `prepare` gets the lapses the batch gave back (`taken`), to record them with its other changes.
 */
export interface Keeper<W extends StockWork = StockWork, Ctx = unknown> extends Participant<W, Ctx> {
  read(tx: Executor, works: W[], need?: KeeperNeed, into?: Ctx): Promise<Ctx>;
  lapses(ctx: Ctx): readonly Lapse[];
  prepare(applied: Applied<W>[], ctx: Ctx, taken?: readonly Lapse[]): Prepared;
}

/** How a batch runs: the allocation strategy, and the keeper with what this process last saw of held units. */
export type BatchOptions = {
  strategy: AllocationStrategy;
  keeper?: Keeper;
  /**
   * Products this process last saw with units held: their lapsed reservations are read with the
   * locks. A product missing here that turns out to hold some costs one more round trip, once; a
   * product here that holds none any more costs a statement, once. Kept up to date by each batch.
   */
  held?: Set<string>;
};

/** SQLSTATE of `stockroom_fence`: a fenced write wrote fewer rows than it meant to (migration 0003). */
const LOST_RACE = 'SR001';

/** A batch that keeps losing its fence to claims is given up (its works fail) rather than retried for ever. */
const MAX_RACES = 5;

/**
 * What every work of a batch came to (its result, or the AppError it failed with alone), and the
 * batch's products as they are after its commit (what the next batch may be decided on).
 */
export type BatchOutcome = { results: unknown[]; next: StockRead };

/**
 * Runs a batch of work for a set of products in one transaction that holds the products' advisory
 * locks: levels and the participants' rows are read under the locks, each work is applied in
 * arrival order on an in-memory copy, and everything is written back at once, in one statement (one
 * round trip for the reads, one for the writes), with one outbox record for the transaction.
 */
export async function runStockBatch(sql: Sql, productIds: readonly string[], works: StockWork[], options: BatchOptions): Promise<BatchOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOnce(sql, productIds, works, options);
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

/** What the keeper must read with the locks: the rows the works name, the lapses of products this process saw holding units. */
function keeperNeed(works: StockWork[], productIds: readonly string[], held: ReadonlySet<string>): KeeperNeed {
  return { named: [...new Set(works.flatMap((w) => w.keeps ?? []))], lapsing: productIds.filter((id) => held.has(id)) };
}

async function runOnce(sql: Sql, productIds: readonly string[], works: StockWork[], options: BatchOptions): Promise<BatchOutcome> {
  const { keeper, held = new Set<string>() } = options;
  const groups = byParticipant(works);
  const others = groups.filter((group) => group.participant !== keeper);
  const need = keeper ? keeperNeed(works, productIds, held) : { named: [], lapsing: [] };
  let kept = groups.find((group) => group.participant === keeper);
  if (keeper && !kept && (need.named.length > 0 || need.lapsing.length > 0)) groups.push((kept = { participant: keeper, works: [] }));
  const { decided, at } = await pipelined(sql, async (tx) => {
    const [at, levels, places, keptCtx, ...contexts] = await Promise.all([
      stockSession(tx, productIds),
      readLevels(tx, productIds),
      readPlaces(tx, productIds),
      kept ? keeper!.read(tx, kept.works, need) : undefined,
      ...others.map((group) => group.participant.read(tx, group.works)),
    ]);
    others.forEach((group, i) => (group.ctx = contexts[i]));
    if (kept) kept.ctx = keptCtx;
    // Units held where this process expected none (a hold made by another process): their lapses are read now, one more round trip.
    const expected = new Set(need.lapsing);
    const late = keeper ? levels.filter((l) => l.held > 0 && !expected.has(l.productId)).map((l) => l.productId) : [];
    if (late.length > 0) {
      if (!kept) groups.push((kept = { participant: keeper!, works: [] }));
      kept.ctx = await keeper!.read(tx, [], { named: [], lapsing: late }, kept.ctx);
    }
    const plan = new StockPlan({ rows: levels, ...places }, at, options.strategy, { lapses: kept ? keeper!.lapses(kept.ctx) : [] });
    const decided = decide(plan, works, groups, kept && keeper ? { group: kept, keeper } : undefined, false);
    const written = writeBatch(tx, decided.parts(tx));
    return async () => {
      await written;
      return { decided, at };
    };
  });
  for (const group of groups) group.participant.committed?.(group.ctx, at);
  if (keeper) noteHeld(decided.plan, productIds, held);
  return { results: decided.results, next: decided.next };
}

/** A batch decided (its works applied on a plan), ready to be written. */
type Decided = {
  plan: StockPlan;
  results: unknown[];
  next: StockRead;
  /** Its one write statement's parts, every owner's, built for `tx`. */
  parts(tx: Executor): WritePart[];
};

/**
 * Applies each work in arrival order on the plan (a work that fails is rolled back alone), then
 * has every participant prepare its writes: also one whose works all failed (the keeper records
 * what others changed: lapses taken, holds converted). `recalled`: the plan is from memory, so
 * every product is fenced, and a work that is `Deferred` or refused has a Deferred for its result
 * (it is decided again, under the locks).
 */
function decide(plan: StockPlan, works: StockWork[], groups: Group[], kept: { group: Group; keeper: Keeper } | undefined, recalled: boolean): Decided {
  const applied = new Map<Group, Applied<StockWork>[]>(groups.map((group) => [group, []]));
  const results = works.map((work) => {
    const mark = plan.mark();
    try {
      const group = work.participant ? groups.find((g) => g.participant === work.participant)! : undefined;
      const result = group ? group.participant.apply(plan, work, group.ctx, kept?.group.ctx) : work.apply!(plan);
      if (group) applied.get(group)!.push({ work, result });
      return result;
    } catch (error) {
      plan.rollback(mark);
      // From memory, only what is written is fenced: a refusal is decided again under the locks.
      if (recalled && (error instanceof Deferred || error instanceof AppError)) return error instanceof Deferred ? error : new Deferred(error.message);
      if (error instanceof AppError) return error;
      throw error;
    }
  });
  const prepared = groups.map((group) =>
    kept && group === kept.group ? kept.keeper.prepare(applied.get(group)!, group.ctx, plan.taken()) : group.participant.prepare(applied.get(group)!, group.ctx),
  );
  const outbox = outboxText(mergeParts([{ inventory: plan.inventoryChanges() }, ...prepared.map((p) => p.outbox ?? {})]));
  const { levels, places } = plan.deltas({ fenceAll: recalled });
  return {
    plan,
    results,
    next: plan.next(levels),
    parts: (tx) => [stockWrite(tx, { levels, places, movements: plan.movements, outbox }), ...prepared.flatMap((p) => (p.write ? [p.write(tx)] : []))],
  };
}

/**
 * A batch decided from memory: `read` is what this process knows of the products (each as its last
 * batch here left it), `at` this process's clock (its commit time is known once it commits). Every work's participant must
 * `canRecall` it. Nothing is read: the batch is written in one round trip (`send`), its locks taken
 * in the same transaction, its write fenced on every product's version, so a batch decided on
 * counts another process changed fails whole (SR001) and its works are decided again, under the
 * locks. Works `Deferred` by their participant are not in it: their result is the Deferred.
 */
export type RecalledBatch = {
  results: unknown[];
  /** The products as they will be once this batch commits: the next batch of them is decided on this. */
  next: StockRead;
  /** Sends the batch's statements inside the caller's transaction (not awaited in between); resolves with the transaction's time. */
  send(tx: Executor): Promise<string>;
  /** Once the transaction committed: the participants' `committed`, with its time. */
  committed(at: string): void;
};

export function decideFromMemory(read: StockRead, works: StockWork[], options: Pick<BatchOptions, 'strategy'>, at: string): RecalledBatch {
  const groups = byParticipant(works);
  for (const group of groups) group.ctx = group.participant.recall!(group.works);
  const plan = new StockPlan(read, at, options.strategy, { recalled: true });
  const decided = decide(plan, works, groups, undefined, true);
  const productIds = read.rows.map((r) => r.productId);
  return {
    results: decided.results,
    next: decided.next,
    send(tx) {
      const session = stockSession(tx, productIds);
      const written = writeBatch(tx, decided.parts(tx));
      return Promise.all([session, written]).then(([time]) => time);
    },
    committed(time) {
      for (const group of groups) group.participant.committed?.(group.ctx, time);
    },
  };
}

/** What the batch leaves held, for the next batch of these products to know whether to read lapses with the locks. */
function noteHeld(plan: StockPlan, productIds: readonly string[], held: Set<string>) {
  for (const id of productIds) {
    if (plan.has(id) && plan.heldOf(id) > 0) held.add(id);
    else held.delete(id);
  }
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
 * reads), and COMMIT right behind the write. `body` sends its reads, decides, sends its write (one
 * statement, not awaited) and returns what waits for it. A write that fails aborts the transaction,
 * so the COMMIT sent behind it rolls back instead; any other failure is rolled back explicitly. The
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
