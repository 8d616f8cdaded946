import type { Run } from './baseline-plan.ts';
import { checksStatus, microsPerOrder } from './report.ts';

/**
 * The figures `--baseline` compares, read from each side's own JSON, and how the rounds of the two
 * sides are merged: the median per side, and current ÷ base.
 */

/** The fields of one scenario in a run's JSON that are compared; a base's older bench may lack any. */
export type ScenarioJson = {
  acceptedPerS?: number | null;
  load?: { latencyMs?: { p50?: number; p99?: number }; cpu?: { service?: number; postgres?: number | null; other?: number } | null } | null;
  e2e?: { finalPerS?: number } | null;
  recovery?: { processedPerS?: number } | null;
  memory?: { peakRssMb?: number };
  checks?: Record<string, { ok: boolean; detail?: string }>;
};

export type Figures = {
  acceptedPerS: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Orders final per second end to end (recovery: resumed per second), as the bench's own table. */
  finalPerS: number | null;
  serviceUsPerOrder: number | null;
  postgresUsPerOrder: number | null;
  peakRssMb: number | null;
  /** Cores other work on the machine took during the load: what may have disturbed this side and not the other. */
  otherCores: number | null;
  checks: string;
  /** A failed check and its detail, or why the run left no figures. */
  failures: string[];
};

const numbers = ['acceptedPerS', 'p50Ms', 'p99Ms', 'finalPerS', 'serviceUsPerOrder', 'postgresUsPerOrder', 'peakRssMb', 'otherCores'] as const;

/** One side's figures for one scenario; `result` undefined: its bench wrote no figures for it. */
export function figuresOf(result: ScenarioJson | undefined, exitCode: number): Figures {
  if (result === undefined) {
    const why = `no result (exit ${exitCode})`;
    return { ...Object.fromEntries(numbers.map((n) => [n, null])), checks: why, failures: [why] } as Figures;
  }
  const perS = result.acceptedPerS ?? null;
  const cpu = result.load?.cpu;
  const checks = result.checks ?? {};
  return {
    acceptedPerS: perS,
    p50Ms: result.load?.latencyMs?.p50 ?? null,
    p99Ms: result.load?.latencyMs?.p99 ?? null,
    finalPerS: (result.recovery ? result.recovery.processedPerS : result.e2e?.finalPerS) ?? null,
    serviceUsPerOrder: microsPerOrder(cpu?.service, perS),
    postgresUsPerOrder: microsPerOrder(cpu?.postgres, perS),
    peakRssMb: result.memory?.peakRssMb ?? null,
    otherCores: cpu?.other ?? null,
    checks: checksStatus(checks),
    failures: Object.entries(checks)
      .filter(([, check]) => !check.ok)
      .map(([name, check]) => `${name}: ${check.detail ?? 'failed'}`),
  };
}

export function median(values: (number | null)[]): number | null {
  const sorted = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** current ÷ base of the main figures; null where either side has none. */
export type Ratios = { acceptedPerS: number | null; finalPerS: number | null };

export function ratios(base: Figures | null, current: Figures | null): Ratios {
  const div = (a: number | null | undefined, b: number | null | undefined) => (a == null || !b ? null : a / b);
  return { acceptedPerS: div(current?.acceptedPerS, base?.acceptedPerS), finalPerS: div(current?.finalPerS, base?.finalPerS) };
}

/** The median of each figure over the rounds; the checks say which rounds failed. */
export function medianFigures(rounds: { round: number; figures: Figures }[]): Figures {
  const failedRounds = rounds.filter((r) => r.figures.failures.length > 0).map((r) => r.round);
  const cells = new Set(rounds.map((r) => r.figures.checks));
  return {
    ...(Object.fromEntries(numbers.map((n) => [n, median(rounds.map((r) => r.figures[n]))])) as Record<(typeof numbers)[number], number | null>),
    checks: failedRounds.length > 0 ? `FAILED in round ${failedRounds.join(', ')}` : cells.size === 1 ? [...cells][0]! : 'ok',
    failures: rounds.flatMap((r) => r.figures.failures.map((f) => `round ${r.round}: ${f}`)),
  };
}

export type RunRecord = Run & { exitCode: number; figures: Figures };

type Pair = { base: Figures | null; current: Figures | null; ratios: Ratios };
export type ScenarioComparison = {
  scenario: string;
  rounds: (Pair & { round: number })[];
  /** With more than one round: the medians of each side and their ratios. */
  median: Pair | null;
};

/** The runs of each scenario paired round by round, in the order they ran. */
export function compare(records: RunRecord[]): ScenarioComparison[] {
  const scenarios = [...new Set(records.map((r) => r.scenario))];
  return scenarios.map((scenario) => {
    const mine = records.filter((r) => r.scenario === scenario);
    const of = (side: Run['side'], round: number) => mine.find((r) => r.side === side && r.round === round)?.figures ?? null;
    const roundNumbers = [...new Set(mine.map((r) => r.round))];
    const rounds = roundNumbers.map((round) => {
      const [base, current] = [of('base', round), of('current', round)];
      return { round, base, current, ratios: ratios(base, current) };
    });
    const sideMedian = (side: Run['side']) => {
      const ran = mine.filter((r) => r.side === side);
      return ran.length === 0 ? null : medianFigures(ran);
    };
    const [base, current] = [sideMedian('base'), sideMedian('current')];
    return { scenario, rounds, median: roundNumbers.length > 1 ? { base, current, ratios: ratios(base, current) } : null };
  });
}
