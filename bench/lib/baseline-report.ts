import type { Figures, Ratios, ScenarioComparison } from './baseline-figures.ts';
import type { Side, Skipped } from './baseline-plan.ts';
import type { BenchOptions } from './options.ts';
import { BUSY_OTHER_CORES, num, table } from './report.ts';

export type ComparisonSetting = {
  startedAt: string;
  options: BenchOptions;
  base: { ref: string; commit: string };
  current: { commit: string; dirty: boolean };
  skipped: Skipped[];
  /** Shared settings a side's bench has no flag for (it ran with its own behaviour there). */
  unknownFlags: Record<Side, string[]>;
};

const short = (commit: string) => commit.slice(0, 7);
const ratioCell = (value: number | null) => (value === null ? '—' : `${num(value, 2)}×`);

function row(scenario: string, side: Side, round: string, f: Figures | null, r: Ratios | null): string[] {
  const cells = f
    ? [num(f.acceptedPerS), num(f.p50Ms, 1), num(f.p99Ms, 1), num(f.finalPerS), num(f.serviceUsPerOrder), num(f.postgresUsPerOrder), f.peakRssMb === null ? '—' : `${num(f.peakRssMb)} MB`, f.checks]
    : ['—', '—', '—', '—', '—', '—', '—', 'did not run'];
  const ratio = side === 'current' && r ? [ratioCell(r.acceptedPerS), ratioCell(r.finalPerS)] : ['', ''];
  return [scenario, side, round, ...cells, ...ratio];
}

function rows(comparisons: ScenarioComparison[]): string[][] {
  const header = ['scenario', 'side', 'round', '2xx/s', 'p50 ms', 'p99 ms', 'final/s', 'service µs', 'postgres µs', 'peak RSS', 'checks', '2xx/s ×', 'final/s ×'];
  const body = comparisons.flatMap((c) => [
    ...c.rounds.flatMap((r) => [row(c.scenario, 'base', String(r.round), r.base, null), row(c.scenario, 'current', String(r.round), r.current, r.ratios)]),
    ...(c.median ? [row(c.scenario, 'base', 'median', c.median.base, null), row(c.scenario, 'current', 'median', c.median.current, c.median.ratios)] : []),
  ]);
  return [header, ...body];
}

/** The runs (not medians) during which other work took enough of the machine to lower their figures. */
function disturbed(comparisons: ScenarioComparison[]): string[] {
  return comparisons.flatMap((c) =>
    c.rounds.flatMap((r) =>
      (['base', 'current'] as const).flatMap((side) => {
        const other = r[side]?.otherCores ?? 0;
        return other >= BUSY_OTHER_CORES ? [`${side} ${c.scenario} round ${r.round} (${num(other, 2)})`] : [];
      }),
    ),
  );
}

function failures(comparisons: ScenarioComparison[]): string[] {
  return comparisons.flatMap((c) =>
    c.rounds.flatMap((r) =>
      (['base', 'current'] as const).flatMap((side) => (r[side]?.failures ?? []).map((f) => `  [${side}] ${c.scenario} round ${r.round}: ${f}`)),
    ),
  );
}

/** The comparison as printed: both sides per scenario, round by round (and their medians), and current ÷ base. */
export function renderComparison(setting: ComparisonSetting, comparisons: ScenarioComparison[]): string {
  const { options, base, current } = setting;
  const lines = [
    `Stockroom bench ${setting.startedAt}, against a baseline: ${options.connections} connections, ${options.durationS} s per scenario (warm-up ${options.warmupS} s), ${options.rounds} round(s)`,
    `base: ${base.ref} (${short(base.commit)}); current: the working tree at ${short(current.commit)}${current.dirty ? ' with uncommitted changes' : ''}; each measured by its own bench, alternately`,
    '',
    table(rows(comparisons), new Set([3, 4, 5, 6, 7, 8, 9, 11, 12])),
    '',
    '2xx/s: answers per second during the load; final/s: orders final per second end to end (recovery: resumed per second);',
    'service µs, postgres µs: CPU time per accepted order during the load; ×: current ÷ base (of the medians on the median row).',
  ];
  for (const s of setting.skipped) lines.push(`skipped ${s.scenario}: not in ${s.missingFrom.map((side) => (side === 'base' ? `base ${short(base.commit)}` : 'the working tree')).join(' nor ')}`);
  for (const side of ['base', 'current'] as const) {
    const unknown = setting.unknownFlags[side];
    if (unknown.length > 0) lines.push(`the ${side} bench has no ${unknown.join(', ')}: it ran with its own behaviour there`);
  }
  const busy = disturbed(comparisons);
  if (busy.length > 0) lines.push(`other work on the machine took ≥ ${BUSY_OTHER_CORES} cores during: ${busy.join(', ')}; those figures are lower than a quiet machine gives.`);
  const failed = failures(comparisons);
  if (failed.length > 0) lines.push('', 'FAILED CHECKS:', ...failed);
  return lines.join('\n');
}
