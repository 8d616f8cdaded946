import type { RoundResult } from './round.ts';
import type { ScenarioName } from './scenarios.ts';

/** The goals of issue 10, per scenario; a round that misses one fails the run. */
export function verdict(result: RoundResult, options: { requestTimeoutMs: number }): string[] {
  const problems: string[] = [];
  if (!result.alive) problems.push('a service process died');
  if (result.lost > 0) problems.push(`${result.lost} accepted orders lost`);
  if (result.stuck > 0) problems.push(`${result.stuck} accepted orders not final`);
  if (result.oversold) problems.push('stock invariants broken');
  if (result.doubleCharges > 0) problems.push(`${result.doubleCharges} orders charged twice`);
  if (result.unrefunded > 0) problems.push(`${result.unrefunded} charges on orders that did not go through are not refunded`);
  if (result.settledS === null || result.settledS > 30) problems.push('accepted orders not all final within 30 s');
  const goal: Record<ScenarioName, () => void> = {
    'pg-kill': () => {
      if (result.recoveryS === null || result.recoveryS > 3) problems.push(`first 202 ${result.recoveryS ?? 'never'} s after PostgreSQL was back (goal ≤ 3 s)`);
    },
    'pg-pause': () => {
      // Every request answered within its deadline plus scheduling slack (goal: within 5 s).
      const bound = Math.min(5000, options.requestTimeoutMs + 1000);
      if (result.maxLatencyMs > bound) problems.push(`a request took ${Math.round(result.maxLatencyMs)} ms (goal ≤ ${bound} ms)`);
    },
    'frozen-node': () => {
      // Lease 4 s, heartbeat TTL 2 s, rescue every second.
      if (result.recoveryS === null || result.recoveryS > 4 + 2 + 1.5) problems.push(`takeover took ${result.recoveryS ?? '∞'} s (goal ≤ lease + heartbeat TTL)`);
    },
  };
  goal[result.scenario as ScenarioName]();
  return problems;
}

const fmt = (value: number | null, digits = 1) => (value === null ? '—' : Number.isFinite(value) ? value.toFixed(digits) : '∞');

export function renderTable(results: RoundResult[]): string {
  const head = ['scenario', 'round', 'alive', 'accepted', 'lost', 'stuck', 'oversold', 'double charges', 'unrefunded', 'recovery s', 'max latency ms', 'all final s'];
  const rows = results.map((r) => [
    r.scenario,
    String(r.round),
    r.alive ? 'yes' : 'NO',
    String(r.accepted),
    String(r.lost),
    String(r.stuck),
    r.oversold ? 'YES' : 'no',
    String(r.doubleCharges),
    String(r.unrefunded),
    fmt(r.recoveryS, 2),
    fmt(r.maxLatencyMs, 0),
    fmt(r.settledS),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

export function summary(results: RoundResult[], failures: Map<RoundResult, string[]>): string {
  const byScenario = new Map<string, RoundResult[]>();
  for (const r of results) byScenario.set(r.scenario, [...(byScenario.get(r.scenario) ?? []), r]);
  const lines: string[] = [];
  for (const [scenario, rounds] of byScenario) {
    const ok = rounds.filter((r) => (failures.get(r) ?? []).length === 0).length;
    const alive = rounds.filter((r) => r.alive).length;
    const recovery = rounds.map((r) => r.recoveryS ?? Number.POSITIVE_INFINITY);
    lines.push(
      `${scenario}: ${ok}/${rounds.length} rounds met every goal; alive ${alive}/${rounds.length}; ` +
        `recovery max ${fmt(Math.max(...recovery), 2)} s; max latency ${fmt(Math.max(...rounds.map((r) => r.maxLatencyMs)), 0)} ms`,
    );
  }
  for (const [result, problems] of failures) {
    if (problems.length === 0) continue;
    lines.push(`  ${result.scenario} round ${result.round}: ${problems.join('; ')} (${result.note})`);
    if (result.diagnosis) {
      for (const state of result.diagnosis.stuckStates) lines.push(`    stuck: ${JSON.stringify(state)}`);
      if (result.diagnosis.serviceLog.length > 0) lines.push(`    service log (last lines at warn and above, in the JSON)`);
    }
  }
  return lines.join('\n');
}
