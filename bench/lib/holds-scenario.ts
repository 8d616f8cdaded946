import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { durableCheck, openOrders, soldCheck } from './checks.ts';
import { CpuMeter } from './cpu.ts';
import { run, type LoadResult } from './load.ts';
import { AMPLE, ORDERS, orderScenario } from './scenarios.ts';
import { allFinalCheck, createProduct, databaseNow, endToEnd, payments, storedSince, warmUp, withService, type Context, type Harness, type ScenarioResult } from './scenario-kit.ts';
import { ledgerCheck } from './checks.ts';

export type FlowSpec = { base: string; token: string; productId: string; connections: number; durationS: number; timeoutS: number };
export type StepFigures = { ok: number; refused: number; errors: number; latencyMs: LoadResult['latencyMs'] };
export type FlowResult = { holds: StepFigures; orders: StepFigures; durationS: number };

/** What the holds scenario reports beside the table: both steps' rates and latencies, and hot-sku's rate of the same run. */
export type HoldFigures = { holdsPerS: number; ordersPerS: number; holdLatencyMs: LoadResult['latencyMs']; hotSkuPerS: number | null };

/** The two-step load (bench/lib/flow-load.ts) against the service, noting where the CPU went meanwhile. */
async function runFlow(ctx: Context, harness: Harness, productId: string): Promise<FlowResult & { load: LoadResult }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stockroom-flow-'));
  try {
    const file = path.join(dir, 'spec.json');
    const spec: FlowSpec = { base: harness.service.base, token: harness.service.tokens.client, productId, connections: ctx.options.connections, durationS: ctx.options.durationS, timeoutS: 10 };
    await writeFile(file, JSON.stringify(spec));
    const meter = new CpuMeter(harness.service.pid, ctx.postgres.postmasterPid());
    const { stdout, cpuS } = await run(['bun', path.join(import.meta.dir, 'flow-load.ts'), file]);
    const cpu = meter.stop(cpuS);
    const flow = JSON.parse(stdout.trim().split('\n').at(-1)!) as FlowResult;
    // The table's row is the order step: each order converts the hold made just before it.
    const { orders } = flow;
    const load: LoadResult = {
      loader: 'flow',
      requests: orders.ok + orders.refused,
      ok: orders.ok,
      statusCounts: null,
      errors: orders.errors + flow.holds.errors,
      timeouts: 0,
      durationS: flow.durationS,
      latencyMs: orders.latencyMs,
      loaderCpuS: cpuS,
      cpu,
    };
    return { ...flow, load };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Holds on one hot product: every client makes a hold of one unit, then the order that takes it
 * (born reserved, the hold converted), and again. Holds/s and orders/s, beside hot-sku's rate in
 * the same run: what the second request and the hold's own row cost.
 */
export async function holdsScenario(ctx: Context): Promise<ScenarioResult> {
  return withService(ctx, 'holds', payments.instant, async (harness) => {
    await warmUp(ctx, harness, ORDERS);
    const productId = await createProduct(harness.service, 'HOLD-1', AMPLE);
    const since = await databaseNow(harness.db);
    const flow = await runFlow(ctx, harness, productId);
    const loadEnd = await databaseNow(harness.db);
    const e2e = await endToEnd(harness.db, since, loadEnd, ctx.options.drainTimeoutS);
    const stored = await storedSince(harness.db, since);
    const [holds] = await harness.db.sql<{ stored: number; converted: number; bornReserved: number }[]>`
      SELECT count(*)::int AS stored, count(*) FILTER (WHERE status = 'converted')::int AS converted,
             (SELECT count(*)::int FROM orders WHERE created_at >= ${since}::timestamptz AND born_status = 'reserved') AS "bornReserved"
      FROM holds WHERE created_at >= ${since}::timestamptz`;
    const checks = {
      durable: durableCheck(flow.orders.ok, stored, ctx.options.connections),
      holdsDurable: durableCheck(flow.holds.ok, holds!.stored, ctx.options.connections),
      converted: {
        ok: holds!.converted === stored && holds!.bornReserved === stored && flow.orders.refused === 0 && flow.holds.refused === 0,
        detail: `${holds!.converted} holds converted, ${holds!.bornReserved} of ${stored} orders born reserved; refused: ${flow.holds.refused} holds, ${flow.orders.refused} orders`,
      },
      allFinal: allFinalCheck(e2e, await openOrders(harness.db.sql)),
      ledger: await ledgerCheck(harness.db.sql),
      noOversell: await soldCheck(harness.db.sql, productId, AMPLE, false),
    };
    const result = await orderScenario(ctx, harness, { loadResult: flow.load, stored, e2e, checks }, {
      name: 'holds',
      title: 'hold, then the order with the hold, one hot SKU, payments instant',
      payments: 'instant',
      notes: ['2xx/s and latencies are the order step; the hold step is in the holds line below the table'],
    });
    const holdFigures: HoldFigures = {
      holdsPerS: flow.holds.ok / flow.durationS,
      ordersPerS: flow.orders.ok / flow.durationS,
      holdLatencyMs: flow.holds.latencyMs,
      hotSkuPerS: ctx.results.get('hot-sku')?.acceptedPerS ?? null,
    };
    return { ...result, route: '/api/v1/holds, then /api/v1/orders', holds: holdFigures };
  });
}
