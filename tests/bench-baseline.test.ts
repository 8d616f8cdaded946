import { describe, expect, test } from 'bun:test';
import { compare, figuresOf, median, type RunRecord, type ScenarioJson } from '../bench/lib/baseline-figures.ts';
import { benchInterface, comparableScenarios, runOrder, settingsArgs, type BenchInterface } from '../bench/lib/baseline-plan.ts';
import { renderComparison, type ComparisonSetting } from '../bench/lib/baseline-report.ts';
import { parseOptions, usage, type BenchOptions } from '../bench/lib/options.ts';
import { microsPerOrder } from '../bench/lib/report.ts';

/**
 * `bun run bench --baseline REF` without running a bench: what it reads from each tree's --help,
 * which scenarios and flags it gives each side, the order of the runs, and how their JSON is
 * merged into figures, medians and ratios.
 */

/** The first bench's --help (commit e864387): no webhooks scenario yet, no --baseline. */
const firstBenchHelp = `bun run bench [options]

  --duration S          seconds of load per scenario (default 20)
  --connections N       concurrent connections (default 64)
  --warmup S            seconds of warm-up load before each measured load (default 3)
  --scenarios A,B       subset of: ceiling, naive, hot-sku, hot-sku-payments, many-skus, scarcity, recovery, million (default: all)
  --loader L            auto (wrk when on the PATH, else autocannon), wrk or autocannon (default auto)
  --products N          products in the many-SKUs scenario (default 1000)
  --recovery-orders N   pending orders left for the recovery scenario (default 100000)
  --million-orders N    orders pushed through one process in the memory scenario (default 1000000)
  --drain-timeout S     longest wait for accepted orders to become final (default 600)
  --out DIR             where the JSON results go (default bench/results)
  --profile             run each service under bun --cpu-prof; profiles (.cpuprofile and .md) go
                        to DIR/profiles/<date>/<scenario>.*

DATABASE_URL set: every scenario runs on a new database created on that server (CREATEDB needed);
unset: on an embedded PostgreSQL in a temporary directory, removed afterwards.`;

const options = (...argv: string[]) => parseOptions(['--baseline', 'HEAD~3', ...argv]) as BenchOptions;

describe('what each tree can do, from its --help', () => {
  test('this tree: every scenario of options.ts and every flag, --baseline included', () => {
    const bench = benchInterface(usage);
    expect(bench.scenarios).toEqual(['framework', 'ceiling', 'naive', 'hot-sku', 'split', 'hot-sku-payments', 'many-skus', 'scarcity', 'recovery', 'million', 'webhooks', 'holds']);
    for (const flag of ['duration', 'connections', 'warmup', 'scenarios', 'loader', 'drain-timeout', 'out', 'profile', 'baseline', 'rounds']) expect(bench.flags).toContain(flag);
    // Words inside the descriptions are not flags.
    expect(bench.flags).not.toContain('cpu-prof');
  });

  test('an older bench: its own scenarios and flags', () => {
    const bench = benchInterface(firstBenchHelp);
    expect(bench.scenarios).toEqual(['ceiling', 'naive', 'hot-sku', 'hot-sku-payments', 'many-skus', 'scarcity', 'recovery', 'million']);
    expect(bench.flags).toContain('million-orders');
    expect(bench.flags).not.toContain('baseline');
  });

  test('a --help that lists no scenarios is an error, not an empty list', () => {
    expect(() => benchInterface('bun run bench [options]\n  --duration S  seconds')).toThrow('lists no scenarios');
  });
});

describe('the plan', () => {
  const current = benchInterface(usage);
  const base = benchInterface(firstBenchHelp);

  test('only the scenarios both trees have run, in the order asked; the others are named with the side that lacks them', () => {
    expect(comparableScenarios(['ceiling', 'hot-sku', 'webhooks'], base, current)).toEqual({
      scenarios: ['ceiling', 'hot-sku'],
      skipped: [{ scenario: 'webhooks', missingFrom: ['base'] }],
    });
    const neither: BenchInterface = { scenarios: ['ceiling'], flags: new Set() };
    expect(comparableScenarios(['ceiling', 'naive'], neither, neither).skipped).toEqual([{ scenario: 'naive', missingFrom: ['base', 'current'] }]);
  });

  test('each side gets every shared setting as a flag, defaults included, and they parse back to the same settings', () => {
    const wanted = options('--duration', '3', '--warmup', '1', '--connections', '32', '--loader', 'wrk', '--products', '50', '--drain-timeout', '90');
    const { args, unknown } = settingsArgs(wanted, current.flags);
    expect(unknown).toEqual([]);
    expect(args).toContain('--recovery-orders');
    const reparsed: BenchOptions = { ...(parseOptions(args) as BenchOptions), baseline: 'HEAD~3' };
    expect(reparsed).toEqual(wanted);
  });

  test('a flag the side does not know is left out and named', () => {
    const older: BenchInterface = { scenarios: base.scenarios, flags: new Set([...base.flags].filter((f) => f !== 'products')) };
    const { args, unknown } = settingsArgs(options('--products', '50'), older.flags);
    expect(args).not.toContain('--products');
    expect(args).toContain('--duration');
    expect(unknown).toEqual(['--products']);
  });

  test('runs alternate base then current, round by round, scenario by scenario', () => {
    expect(runOrder(['ceiling', 'hot-sku'], 2).map((r) => `${r.scenario}/${r.round}/${r.side}`)).toEqual([
      'ceiling/1/base',
      'ceiling/1/current',
      'ceiling/2/base',
      'ceiling/2/current',
      'hot-sku/1/base',
      'hot-sku/1/current',
      'hot-sku/2/base',
      'hot-sku/2/current',
    ]);
  });
});

/** A hot-sku result as bench/run.ts writes it (trimmed), with the figures to read given. */
function hotSku(acceptedPerS: number, over: Partial<ScenarioJson> = {}): ScenarioJson {
  return {
    acceptedPerS,
    load: { latencyMs: { p50: 10.9, p99: 32.6 }, cpu: { service: 0.77, postgres: 0.29, other: 0.1 } },
    e2e: { finalPerS: acceptedPerS - 20 },
    recovery: null,
    memory: { peakRssMb: 261.5 },
    checks: { durable: { ok: true, detail: '…' }, allFinal: { ok: true, detail: '…' } },
    ...over,
  };
}

describe('figures of one run', () => {
  test('CPU per order is cores ÷ orders per second (the README: 0.71 core at 6,291/s is 113 µs)', () => {
    expect(microsPerOrder(0.71, 6291)).toBeCloseTo(112.9, 1);
    expect(microsPerOrder(null, 6291)).toBeNull();
    expect(microsPerOrder(0.5, null)).toBeNull();
  });

  test('the order-route figures', () => {
    const { serviceUsPerOrder, postgresUsPerOrder, ...rest } = figuresOf(hotSku(5000), 0);
    expect(rest).toEqual({ acceptedPerS: 5000, p50Ms: 10.9, p99Ms: 32.6, finalPerS: 4980, peakRssMb: 261.5, otherCores: 0.1, checks: 'ok (2)', failures: [] });
    expect(serviceUsPerOrder).toBeCloseTo(154, 6);
    expect(postgresUsPerOrder).toBeCloseTo(58, 6);
  });

  test('recovery: the resumption rate as final/s, no load so no CPU per order', () => {
    const f = figuresOf({ acceptedPerS: null, load: null, e2e: null, recovery: { processedPerS: 8605 }, memory: { peakRssMb: 271 }, checks: {} }, 0);
    expect(f).toMatchObject({ acceptedPerS: null, finalPerS: 8605, serviceUsPerOrder: null, checks: '—' });
  });

  test('a failed check is named with its detail; a run without JSON says so', () => {
    const failed = figuresOf(hotSku(5000, { checks: { durable: { ok: false, detail: '3 answered 202 but not stored' }, ledger: { ok: true } } }), 1);
    expect(failed.checks).toBe('FAILED: durable');
    expect(failed.failures).toEqual(['durable: 3 answered 202 but not stored']);
    const none = figuresOf(undefined, 2);
    expect(none).toMatchObject({ acceptedPerS: null, checks: 'no result (exit 2)', failures: ['no result (exit 2)'] });
  });

  test('an older JSON without CPU shares has no CPU per order', () => {
    expect(figuresOf(hotSku(5000, { load: { latencyMs: { p50: 9, p99: 50 } } }), 0)).toMatchObject({ p99Ms: 50, serviceUsPerOrder: null, postgresUsPerOrder: null });
  });

  test('median', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([null, 5])).toBe(5);
    expect(median([null])).toBeNull();
  });
});

const record = (scenario: string, round: number, side: 'base' | 'current', result: ScenarioJson | undefined, exitCode = 0): RunRecord => ({
  scenario,
  round,
  side,
  exitCode,
  figures: figuresOf(result, exitCode),
});

describe('merging the runs', () => {
  test('one round: the pair and current ÷ base, no medians', () => {
    const [hot] = compare([record('hot-sku', 1, 'base', hotSku(4000)), record('hot-sku', 1, 'current', hotSku(5000))]);
    expect(hot!.rounds).toHaveLength(1);
    expect(hot!.rounds[0]!.ratios.acceptedPerS).toBe(1.25);
    expect(hot!.rounds[0]!.ratios.finalPerS).toBeCloseTo(4980 / 3980, 6);
    expect(hot!.median).toBeNull();
  });

  test('three rounds: each side’s median, their ratio, and which round failed', () => {
    const failing = hotSku(3000, { checks: { durable: { ok: false, detail: 'lost 3' } } });
    const [hot] = compare([
      record('hot-sku', 1, 'base', hotSku(4000)),
      record('hot-sku', 1, 'current', hotSku(4400)),
      record('hot-sku', 2, 'base', failing),
      record('hot-sku', 2, 'current', hotSku(5000)),
      record('hot-sku', 3, 'base', hotSku(4200)),
      record('hot-sku', 3, 'current', hotSku(4600)),
    ]);
    expect(hot!.rounds.map((r) => r.ratios.acceptedPerS)).toEqual([1.1, 5000 / 3000, 4600 / 4200]);
    expect(hot!.median!.base!.acceptedPerS).toBe(4000);
    expect(hot!.median!.current!.acceptedPerS).toBe(4600);
    expect(hot!.median!.ratios.acceptedPerS).toBe(1.15);
    expect(hot!.median!.base!.checks).toBe('FAILED in round 2');
    expect(hot!.median!.base!.failures).toEqual(['round 2: durable: lost 3']);
    expect(hot!.median!.current!.checks).toBe('ok (2)');
  });

  test('the median row’s checks: the rounds’ own cell when they agree (none for the ceiling), else ok', () => {
    const noChecks = hotSku(20000, { checks: {} });
    const [ceiling] = compare([record('ceiling', 1, 'base', noChecks), record('ceiling', 2, 'base', noChecks)]);
    expect(ceiling!.median!.base!.checks).toBe('—');
    const [hot] = compare([record('hot-sku', 1, 'base', hotSku(4000)), record('hot-sku', 2, 'base', hotSku(4000, { checks: { durable: { ok: true } } }))]);
    expect(hot!.median!.base!.checks).toBe('ok');
  });

  test('a side that did not run (Ctrl-C) has no figures and no ratio', () => {
    const [hot] = compare([record('hot-sku', 1, 'base', hotSku(4000))]);
    expect(hot!.rounds[0]).toMatchObject({ current: null, ratios: { acceptedPerS: null, finalPerS: null } });
  });
});

describe('the printed comparison', () => {
  const setting: ComparisonSetting = {
    startedAt: '2026-12-01T10:00:00Z',
    options: options('--scenarios', 'ceiling,hot-sku,webhooks', '--duration', '3', '--warmup', '1'),
    base: { ref: 'HEAD~3', commit: 'ee53a85aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' },
    current: { commit: '767c518bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', dirty: true },
    skipped: [{ scenario: 'webhooks', missingFrom: ['base'] }],
    unknownFlags: { base: ['--products'], current: [] },
  };

  test('both sides per scenario, the ratio on the current row, the skipped scenario, the unknown flag and the failed check', () => {
    const current = hotSku(5000, { checks: { ledger: { ok: false, detail: 'ledger ≠ on hand: 1' } } });
    const text = renderComparison(setting, compare([record('hot-sku', 1, 'base', hotSku(4000)), record('hot-sku', 1, 'current', current, 1)]));
    expect(text).toContain('base: HEAD~3 (ee53a85); current: the working tree at 767c518 with uncommitted changes');
    expect(text).toMatch(/^scenario\s+side\s+round\s+2xx\/s\s+p50 ms\s+p99 ms\s+final\/s\s+service µs\s+postgres µs\s+peak RSS\s+checks\s+2xx\/s ×\s+final\/s ×$/m);
    expect(text).toMatch(/^hot-sku\s+base\s+1\s+4,000\s+10\.9\s+32\.6\s+3,980\s+193\s+73\s+262 MB\s+ok \(2\)$/m);
    expect(text).toMatch(/^hot-sku\s+current\s+1\s+5,000\s+10\.9\s+32\.6\s+4,980\s+154\s+58\s+262 MB\s+FAILED: ledger\s+1\.25×\s+1\.25×$/m);
    expect(text).toContain('skipped webhooks: not in base ee53a85');
    expect(text).toContain('the base bench has no --products');
    expect(text).toContain('[current] hot-sku round 1: ledger: ledger ≠ on hand: 1');
    expect(text).not.toContain('other work');
  });

  test('a run that other work on the machine disturbed is named, and one that left no result shows no figures', () => {
    const busy = hotSku(5000, { load: { latencyMs: { p50: 12, p99: 40 }, cpu: { service: 0.7, postgres: 0.3, other: 0.46 } } });
    const text = renderComparison(setting, compare([record('hot-sku', 1, 'base', undefined, 1), record('hot-sku', 1, 'current', busy)]));
    expect(text).toContain('other work on the machine took ≥ 0.25 cores during: current hot-sku round 1 (0.46)');
    expect(text).toMatch(/^hot-sku\s+base\s+1(\s+—){7}\s+no result \(exit 1\)$/m);
    expect(text).toMatch(/^hot-sku\s+current\s+1\s+5,000\s.*\s—\s+—$/m);
  });

  test('several rounds: a median row per side', () => {
    const text = renderComparison(
      { ...setting, options: { ...setting.options, rounds: 2 } },
      compare([record('ceiling', 1, 'base', hotSku(20000)), record('ceiling', 1, 'current', hotSku(22000)), record('ceiling', 2, 'base', hotSku(24000)), record('ceiling', 2, 'current', hotSku(22000))]),
    );
    expect(text).toMatch(/^ceiling\s+base\s+median\s+22,000\s/m);
    expect(text).toMatch(/^ceiling\s+current\s+median\s+22,000\s.*\s1\.00×\s+1\.00×$/m);
    expect(text).toContain('2 round(s)');
  });
});
