import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import pkg from '../../package.json' with { type: 'json' };
import type { LoaderName } from './load.ts';
import type { BenchOptions, ScenarioName } from './options.ts';
import type { ScenarioResult } from './scenario-kit.ts';
import { describeStatistics } from './statistics.ts';

export type Machine = { cpus: number; cpuModel: string; memoryGiB: number; kernel: string; bun: string; loader: string; postgres: string };

export function describeMachine(loader: LoaderName, postgres: string): Machine {
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  const loaderVersion =
    loader === 'wrk'
      ? (spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout.split('\n')[0]?.split(' [')[0] ?? 'wrk')
      : `autocannon ${pkg.devDependencies.autocannon} (under Bun)`;
  return {
    cpus: os.availableParallelism(),
    cpuModel,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    bun: Bun.version,
    loader: loaderVersion,
    postgres,
  };
}

export type Ratios = {
  intakeOverNaive: number | null;
  endToEndOverNaive: number | null;
  intakeOverCeiling: number | null;
  naiveOverCeiling: number | null;
  /** What the service's HTTP shell leaves of the bare framework's rate (the ceiling route ÷ the framework route). */
  ceilingOverFramework: number | null;
  /** A product over three locations against one: intake, and end to end. */
  splitOverHotSku: number | null;
  splitEndToEndOverHotSku: number | null;
};

export function ratios(results: Map<ScenarioName, ScenarioResult>): Ratios {
  const perS = (name: ScenarioName) => results.get(name)?.acceptedPerS ?? null;
  const e2e = (name: ScenarioName) => results.get(name)?.e2e?.processedPerS ?? null;
  const div = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : a / b);
  return {
    intakeOverNaive: div(perS('hot-sku'), perS('naive')),
    endToEndOverNaive: div(e2e('hot-sku'), perS('naive')),
    intakeOverCeiling: div(perS('hot-sku'), perS('ceiling')),
    naiveOverCeiling: div(perS('naive'), perS('ceiling')),
    ceilingOverFramework: div(perS('ceiling'), perS('framework')),
    splitOverHotSku: div(perS('split'), perS('hot-sku')),
    splitEndToEndOverHotSku: div(e2e('split'), e2e('hot-sku')),
  };
}

export type Target = { what: string; wanted: string; seen: string; met: boolean | null };

/**
 * The targets of issue 9 (the order lifecycle), next to what this run saw (met: null when the
 * scenario did not run at full size). Shares are of the ceiling route measured in the same run.
 */
export function targets(results: Map<ScenarioName, ScenarioResult>, r: Ratios): Target[] {
  const hot = results.get('hot-sku');
  const ceiling = results.get('ceiling')?.acceptedPerS ?? null;
  const many = results.get('many-skus');
  const million = results.get('million');
  const recovery = results.get('recovery');
  const n = (value: number) => Math.round(value).toLocaleString('en-US');
  const pct = (value: number) => `${(value * 100).toFixed(0)} %`;
  const list: Target[] = [];
  if (r.intakeOverCeiling !== null) list.push({ what: 'hot-SKU intake ÷ ceiling', wanted: '≥ 45 %', seen: pct(r.intakeOverCeiling), met: r.intakeOverCeiling >= 0.45 });
  if (hot?.load) list.push({ what: 'hot-SKU intake p99', wanted: '≤ 20 ms', seen: `${hot.load.latencyMs.p99.toFixed(1)} ms`, met: hot.load.latencyMs.p99 <= 20 });
  if (hot?.e2e && ceiling) {
    const share = hot.e2e.processedPerS / ceiling;
    list.push({ what: 'hot-SKU end to end (instant payments) ÷ ceiling', wanted: '≥ 28 %', seen: pct(share), met: share >= 0.28 });
  }
  if (many?.acceptedPerS != null && ceiling) {
    const share = many.acceptedPerS / ceiling;
    list.push({ what: 'many-skus intake ÷ ceiling', wanted: '≥ 28 %', seen: pct(share), met: share >= 0.28 });
  }
  if (million) {
    const enough = (million.stored ?? 0) >= 1_000_000;
    list.push({
      what: `peak RSS over ${n(million.stored ?? 0)} orders`,
      wanted: '≤ 300 MB over 1,000,000',
      seen: `${n(million.memory.peakRssMb)} MB`,
      met: enough ? million.memory.peakRssMb <= 300 : null,
    });
  }
  if (recovery?.recovery) {
    const enough = recovery.recovery.orders >= 100_000;
    list.push({
      what: `${n(recovery.recovery.orders)} pending resumed after a restart`,
      wanted: '≤ 5 s (payments instant)',
      seen: `${recovery.recovery.totalS.toFixed(1)} s`,
      met: enough ? recovery.recovery.totalS <= 5 && recovery.checks.allFinal!.ok : null,
    });
  }
  return list;
}

/**
 * The targets of issue 23 (pipelined stock batches) that one run can judge alone: the others are
 * ratios against the base commit, measured with `--baseline`. CPU per order is for one service
 * process on a 2-core machine, as the issue states them.
 */
export function pipelineTargets(results: Map<ScenarioName, ScenarioResult>, r: Ratios): Target[] {
  const hot = results.get('hot-sku');
  const list: Target[] = [];
  const us = (value: number | null) => (value === null ? '—' : `${value.toFixed(0)} µs`);
  if (hot?.load) {
    list.push({ what: 'hot-SKU p99', wanted: '≤ 15 ms', seen: `${hot.load.latencyMs.p99.toFixed(1)} ms`, met: hot.load.latencyMs.p99 <= 15 });
    const service = microsPerOrder(hot.load.cpu?.service, hot.acceptedPerS);
    const postgres = microsPerOrder(hot.load.cpu?.postgres, hot.acceptedPerS);
    list.push({ what: 'service CPU per hot-SKU order', wanted: '≤ 40 µs', seen: us(service), met: service === null ? null : service <= 40 });
    const limit = hot.connections >= 64 ? 35 : hot.connections <= 16 ? 60 : null;
    if (limit !== null) {
      list.push({
        what: `PostgreSQL CPU per hot-SKU order (${hot.connections} clients)`,
        wanted: `≤ ${limit} µs`,
        seen: us(postgres),
        met: postgres === null ? null : postgres <= limit,
      });
    }
    if (hot.load.cpu) list.push({ what: 'idle CPU during hot-SKU (diagnostic)', wanted: 'reported', seen: `${num(hot.load.cpu.idle, 2)} core`, met: null });
  }
  if (r.ceilingOverFramework !== null) {
    list.push({ what: 'ceiling route ÷ bare Elysia route', wanted: '≥ 0.7', seen: num(r.ceilingOverFramework, 2), met: r.ceilingOverFramework >= 0.7 });
  }
  return list;
}

export const num = (value: number | null | undefined, digits = 0) =>
  value === null || value === undefined || Number.isNaN(value) ? '—' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function table(rows: string[][], rightAligned: Set<number>): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** Cores taken by other work on the machine during a load from which its figures are named as disturbed. */
export const BUSY_OTHER_CORES = 0.25;

/** A scenario's checks in one cell: how many passed, or the names of those that failed. */
export function checksStatus(checks: Record<string, { ok: boolean }>): string {
  const names = Object.keys(checks);
  const failed = names.filter((name) => !checks[name]!.ok);
  if (names.length === 0) return '—';
  return failed.length === 0 ? `ok (${names.length})` : `FAILED: ${failed.join(', ')}`;
}

/** CPU time per order in µs: the cores a process kept busy during the load ÷ the orders per second it took. */
export function microsPerOrder(cores: number | null | undefined, perS: number | null | undefined): number | null {
  if (cores === null || cores === undefined || !perS) return null;
  return (cores / perS) * 1e6;
}

export function renderTable(options: BenchOptions, machine: Machine & { loadAverageAtStart: number[] }, startedAt: string, results: Map<ScenarioName, ScenarioResult>): string {
  const r = ratios(results);
  const header = [
    `Stockroom bench ${startedAt}: ${options.connections} connections, ${options.durationS} s per scenario (warm-up ${options.warmupS} s), load generator ${machine.loader}, ${options.workers === 1 ? 'one service process' : `${options.workers} service processes (WORKERS: CPU summed over them, memory the first one's, /bench/stats whichever answered)`}`,
    `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.kernel}; Bun ${machine.bun}; ${machine.postgres}; load average at start ${machine.loadAverageAtStart.join(' ')}`,
    '',
  ];
  const rows = [['scenario', '2xx/s', 'p50 ms', 'p95 ms', 'p99 ms', 'final/s', 'processed/s', 'all final', 'peak RSS', 'checks']];
  const cpuRows = [['CPU during the load (cores)', 'service', 'postgres', 'loader', 'other', 'idle', 'service µs/2xx', 'postgres µs/2xx']];
  for (const result of results.values()) {
    const latency = result.load?.latencyMs;
    const finalAfter = result.recovery ? `${num(result.recovery.totalS, 1)} s*` : result.e2e ? `+${num(result.e2e.drainS, 1)} s` : '—';
    rows.push([
      result.name,
      num(result.acceptedPerS),
      num(latency?.p50, 1),
      num(latency?.p95, 1),
      num(latency?.p99, 1),
      num(result.recovery ? result.recovery.processedPerS : result.e2e?.finalPerS),
      num(result.recovery ? result.recovery.processedPerS : result.e2e?.processedPerS),
      finalAfter,
      `${num(result.memory.peakRssMb)} MB`,
      checksStatus(result.checks),
    ]);
    const cpu = result.load?.cpu;
    if (cpu) {
      const per = (cores: number | null) => num(microsPerOrder(cores, result.acceptedPerS));
      cpuRows.push([result.name, num(cpu.service, 2), num(cpu.postgres, 2), num(cpu.loader, 2), num(cpu.other, 2), num(cpu.idle, 2), per(cpu.service), per(cpu.postgres)]);
    }
  }
  const lines = [...header, table(rows, new Set([1, 2, 3, 4, 5, 6, 7, 8]))];
  lines.push(
    '',
    '2xx/s: answers per second during the load (202 = order stored); final/s, processed/s: orders that became final (processed)',
    '÷ (first order stored → every order final); all final: after the load stopped (recovery*: after the process was started);',
    'peak RSS: the service process.',
  );
  if (cpuRows.length > 1) lines.push('', table(cpuRows, new Set([1, 2, 3, 4, 5, 6, 7])));
  const shared = [...results.values()].filter((r) => (r.load?.cpu?.other ?? 0) >= BUSY_OTHER_CORES).map((r) => `${r.name} (${num(r.load!.cpu!.other, 2)})`);
  if (shared.length > 0) lines.push(`other work on the machine took ≥ ${BUSY_OTHER_CORES} cores during: ${shared.join(', ')}; those figures are lower than a quiet machine gives.`);
  for (const result of results.values()) {
    const w = result.webhooks;
    if (!w) continue;
    lines.push(
      '',
      `webhooks (${result.name}): ${num(w.delivered)} events delivered to a local receiver; ${num(w.duringLoadPerS)}/s while the load ran, ${num(w.overallPerS)}/s overall;`,
      `  lag commit → delivered p50 ${num(w.lagMs.p50)} ms, p95 ${num(w.lagMs.p95)} ms, p99 ${num(w.lagMs.p99)} ms, max ${num(w.lagMs.max)} ms; last delivery ${num(w.drainS, 1)} s after the load stopped`,
    );
  }
  for (const result of results.values()) {
    const h = result.holds;
    if (!h) continue;
    const hot = h.hotSkuPerS === null ? 'hot-sku did not run in this bench' : `hot-sku took ${num(h.hotSkuPerS)} orders/s in this run (${num((h.ordersPerS / h.hotSkuPerS) * 100)} % of it)`;
    lines.push(
      '',
      `holds (${result.name}): ${num(h.holdsPerS)} holds/s (p50 ${num(h.holdLatencyMs.p50, 1)} ms, p99 ${num(h.holdLatencyMs.p99, 1)} ms) and ${num(h.ordersPerS)} orders/s, each converting its hold;`,
      `  ${hot}`,
    );
  }
  const ratioText = [
    r.intakeOverNaive !== null ? `hot-sku intake ÷ naive ${num(r.intakeOverNaive, 1)}×` : null,
    r.endToEndOverNaive !== null ? `hot-sku end to end ÷ naive ${num(r.endToEndOverNaive, 1)}×` : null,
    r.intakeOverCeiling !== null ? `hot-sku intake ÷ ceiling ${num(r.intakeOverCeiling * 100)} %` : null,
    r.naiveOverCeiling !== null ? `naive ÷ ceiling ${num(r.naiveOverCeiling * 100, 1)} %` : null,
    r.ceilingOverFramework !== null ? `ceiling ÷ framework ${num(r.ceilingOverFramework * 100)} %` : null,
    r.splitOverHotSku !== null ? `split ÷ hot-sku intake ${num(r.splitOverHotSku * 100)} %` : null,
    r.splitEndToEndOverHotSku !== null ? `split ÷ hot-sku end to end ${num(r.splitEndToEndOverHotSku * 100)} %` : null,
  ].filter(Boolean);
  if (ratioText.length > 0) lines.push('', `ratios: ${ratioText.join('; ')}`);
  const goals = targets(results, r);
  if (goals.length > 0) {
    lines.push('', table([['target (issue 9)', 'wanted', 'seen', ''], ...goals.map((g) => [g.what, g.wanted, g.seen, g.met === null ? 'n/a' : g.met ? 'met' : 'NOT met'])], new Set([2])));
  }
  const pipeline = pipelineTargets(results, r);
  if (pipeline.length > 0) {
    lines.push('', table([['target (issue 23, one run)', 'wanted', 'seen', ''], ...pipeline.map((g) => [g.what, g.wanted, g.seen, g.met === null ? '' : g.met ? 'met' : 'NOT met'])], new Set([2])));
  }
  const analysed = [...results.values()].filter((result) => result.statistics);
  if (analysed.length > 0) {
    lines.push('', 'tables at the end of each scenario: analyses while it ran (BEHIND: the statistics describe less than half of the rows):');
    for (const result of analysed) lines.push(`  ${result.name}: ${describeStatistics(result.statistics!)}`);
  }
  const failures = [...results.values()].flatMap((result) => Object.entries(result.checks).filter(([, c]) => !c.ok).map(([name, c]) => `${result.name}.${name}: ${c.detail}`));
  if (failures.length > 0) lines.push('', 'FAILED CHECKS:', ...failures.map((f) => `  ${f}`));
  return lines.join('\n');
}
