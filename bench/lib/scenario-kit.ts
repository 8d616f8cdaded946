import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Check } from './checks.ts';
import { CpuMeter } from './cpu.ts';
import type { BenchPostgres, ScenarioDatabase } from './database.ts';
import { runLoad, type LoadResult, type LoaderName } from './load.ts';
import type { BenchOptions, ScenarioName } from './options.ts';
import { BenchService, type BenchTokens } from './service.ts';
import { analysesBetween, tableCounts, type TableStatistics } from './statistics.ts';
import type { HoldFigures } from './holds-scenario.ts';

/** Payment simulator settings of a scenario (PAYMENT_* of the service). */
export const payments = {
  /** An instant provider that always succeeds: what the service itself can do. */
  instant: { PAYMENT_LATENCY_MS: '0', PAYMENT_FAILURE_RATE: '0', PAYMENT_TIMEOUT_RATE: '0' },
  /** The service's defaults (20-200 ms, 10 % declines, 2 % timeouts); set empty so a caller's environment cannot change them. */
  defaults: { PAYMENT_LATENCY_MS: '', PAYMENT_FAILURE_RATE: '', PAYMENT_TIMEOUT_RATE: '' },
} as const;
export type PaymentsName = keyof typeof payments;

export type E2E = {
  processed: number;
  failed: number;
  /** First order stored → every order final (or processed), on the database clock. */
  windowS: number;
  /** Load stopped → every order final. */
  drainS: number;
  processedPerS: number;
  finalPerS: number;
  drained: boolean;
};

export type WebhookFigures = {
  delivered: number;
  /** Deliveries that succeeded while the load ran, per second of it. */
  duringLoadPerS: number;
  /** Every delivery ÷ (first event committed → last delivery). */
  overallPerS: number;
  /** Commit of an event → its successful delivery. */
  lagMs: { p50: number; p95: number; p99: number; max: number };
  /** Load stopped → last delivery. */
  drainS: number;
};

export type ScenarioResult = {
  name: ScenarioName;
  title: string;
  route: string;
  payments: PaymentsName | null;
  connections: number;
  load: LoadResult | null;
  acceptedPerS: number | null;
  stored: number | null;
  e2e: E2E | null;
  /** Spawn → healthy, healthy → every order final, and the rate of that resumption. */
  recovery: { orders: number; startS: number; resumeS: number; totalS: number; processedPerS: number } | null;
  memory: { idleRssMb: number; peakRssMb: number; endRssMb: number };
  /** The webhook scenario: what its local receiver got, and how late. */
  webhooks?: WebhookFigures;
  /** The holds scenario: holds/s and orders/s, beside hot-sku's rate. */
  holds?: HoldFigures;
  stats: unknown;
  /** The scenario's tables at its end, and how often each was analysed while it ran (null: not measured). */
  statistics: TableStatistics[] | null;
  checks: Record<string, Check>;
  notes: string[];
};

/** What is left of a scenario that threw: its name and the error, as a failed check. */
export function failedScenario(name: ScenarioName, connections: number, error: unknown): ScenarioResult {
  return {
    name,
    title: name,
    route: '',
    payments: null,
    connections,
    load: null,
    acceptedPerS: null,
    stored: null,
    e2e: null,
    recovery: null,
    memory: { idleRssMb: 0, peakRssMb: 0, endRssMb: 0 },
    stats: null,
    statistics: null,
    checks: { ran: { ok: false, detail: `the scenario failed: ${(error as Error).message ?? String(error)}` } },
    notes: [],
  };
}

export type Context = {
  options: BenchOptions;
  loader: LoaderName;
  postgres: BenchPostgres;
  tokens: BenchTokens;
  log: (message: string) => void;
  results: Map<ScenarioName, ScenarioResult>;
  /** Where CPU profiles go when --profile is given. */
  profileDir: string | null;
};

export type Harness = { service: BenchService; db: ScenarioDatabase; idleRssMb: number };

/** A fresh database and a service process on it for the length of `work`; both are gone afterwards. */
export async function withService(
  ctx: Context,
  name: ScenarioName,
  env: Record<string, string>,
  work: (harness: Harness) => Promise<ScenarioResult>,
  prepare?: (db: ScenarioDatabase) => Promise<void>,
): Promise<ScenarioResult> {
  const db = await ctx.postgres.fresh(name);
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `stockroom-bench-${name}-`));
  let service: BenchService | undefined;
  try {
    await prepare?.(db);
    const bunArgs = ctx.profileDir ? ['--cpu-prof', '--cpu-prof-md', `--cpu-prof-dir=${ctx.profileDir}`, `--cpu-prof-name=${name}`] : [];
    service = await BenchService.start({ DATABASE_URL: db.url, DATA_DIR: dataDir, NODE_ID: `bench-${name}`, ...env }, ctx.tokens, { bunArgs, workers: ctx.options.workers });
    const before = await tableCounts(db.sql);
    const result = await work({ service, db, idleRssMb: service.memory().lastRssMb });
    return { ...result, statistics: analysesBetween(before, await tableCounts(db.sql)) };
  } catch (error) {
    if (service) ctx.log(`service output (tail):\n${service.logTail()}`);
    throw error;
  } finally {
    await service?.stop();
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

export const orderBody = (productId: string, customer = 'bench', quantity = 1) => JSON.stringify({ customerId: customer, items: [{ productId, quantity }] });

export async function createProduct(service: BenchService, sku: string, stock: number, price = '9.99'): Promise<string> {
  const product = await service.api<{ id: string }>('POST', '/api/v1/products', { sku, name: `Bench ${sku}`, price, initialStock: stock });
  return product.id;
}

export async function databaseNow(db: ScenarioDatabase): Promise<string> {
  const [row] = await db.sql<{ now: string }[]>`SELECT now()::text AS now`;
  return row!.now;
}

/**
 * Runs the load against one route of the service (or, `base`, of the bare framework app in its
 * process), noting where the CPU went meanwhile.
 */
export async function load(ctx: Context, service: BenchService, route: string, bodies: string[], durationS = ctx.options.durationS, base = service.base): Promise<LoadResult> {
  const meter = new CpuMeter(service.pid, ctx.postgres.postmasterPid());
  const result = await runLoad(ctx.loader, {
    url: `${base}${route}`,
    token: service.tokens.client,
    bodies,
    connections: ctx.options.connections,
    durationS,
    timeoutS: 10,
  });
  return { ...result, cpu: meter.stop(result.loaderCpuS) };
}

/** Warm-up load (JIT, pools, caches) on its own product, then waits until those orders are done. */
export async function warmUp(ctx: Context, harness: Harness, route: string): Promise<LoadResult | null> {
  if (ctx.options.warmupS <= 0) return null;
  const productId = await createProduct(harness.service, `WARMUP-${Date.now().toString(36)}`, 1_000_000_000);
  const result = await load(ctx, harness.service, route, [orderBody(productId, 'warm-up')], ctx.options.warmupS);
  await waitUntilDone(harness.db, ctx.options.drainTimeoutS);
  return result;
}

/** Polls (100 ms) until no order is pending or reserved; returns the database time it saw that. */
export async function waitUntilDone(db: ScenarioDatabase, timeoutS: number): Promise<{ at: string; drained: boolean }> {
  const deadline = performance.now() + timeoutS * 1000;
  for (;;) {
    const [row] = await db.sql<{ open: number; at: string }[]>`
      SELECT (SELECT count(*)::int FROM orders WHERE status IN ('pending', 'reserved')) AS open, now()::text AS at`;
    if (row!.open === 0) return { at: row!.at, drained: true };
    if (performance.now() > deadline) return { at: row!.at, drained: false };
    await Bun.sleep(100);
  }
}

/** Waits for the orders stored since `since` to be final and measures the end-to-end rates. */
export async function endToEnd(db: ScenarioDatabase, since: string, loadEnd: string, timeoutS: number): Promise<E2E> {
  const done = await waitUntilDone(db, timeoutS);
  const [row] = await db.sql<{ processed: number; failed: number; windowS: number; drainS: number }[]>`
    SELECT count(*) FILTER (WHERE status IN ('processed', 'shipped'))::int AS processed,
           count(*) FILTER (WHERE status = 'failed')::int AS failed,
           extract(epoch FROM ${done.at}::timestamptz - min(created_at))::float8 AS "windowS",
           extract(epoch FROM ${done.at}::timestamptz - ${loadEnd}::timestamptz)::float8 AS "drainS"
    FROM orders WHERE created_at >= ${since}::timestamptz`;
  const { processed, failed, windowS, drainS } = row!;
  return {
    processed,
    failed,
    windowS,
    drainS: Math.max(0, drainS),
    processedPerS: processed / windowS,
    finalPerS: (processed + failed) / windowS,
    drained: done.drained,
  };
}

export async function storedSince(db: ScenarioDatabase, since: string): Promise<number> {
  const [row] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orders WHERE created_at >= ${since}::timestamptz`;
  return row!.n;
}

/** Orders stored since `since`, once the count stops moving (transactions cut off by the load's end commit late). */
export async function settledCount(db: ScenarioDatabase, since: string): Promise<number> {
  for (let last = -1; ; await Bun.sleep(200)) {
    const count = await storedSince(db, since);
    if (count === last) return count;
    last = count;
  }
}

export function allFinalCheck(e2e: E2E, openAfter: number): Check {
  return {
    ok: e2e.drained && openAfter === 0,
    detail: e2e.drained ? `every order final ${e2e.drainS.toFixed(1)} s after the load stopped` : `${openAfter} orders still open after the drain timeout`,
  };
}

