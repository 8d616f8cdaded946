import type { BenchOptions } from './options.ts';

/**
 * What `bun run bench --baseline REF` runs, decided before anything runs: which scenarios both
 * trees have, which flags each side's own bench is given, and in which order the runs alternate.
 */

export type Side = 'base' | 'current';

/** What one tree's bench can do, as its `--help` says. */
export type BenchInterface = { scenarios: string[]; flags: Set<string> };

/** Reads a bench's scenarios and flags from its `--help` (every version so far lists them as `subset of: a, b`). */
export function benchInterface(help: string): BenchInterface {
  const list = /subset of: ([^(\n]+)/.exec(help)?.[1];
  if (list === undefined) throw new Error('its --help lists no scenarios (no "subset of: …" line)');
  return {
    scenarios: list.split(',').map((s) => s.trim()).filter(Boolean),
    flags: new Set([...help.matchAll(/^\s+--([a-z][a-z-]*)/gm)].map((m) => m[1]!)),
  };
}

export type Skipped = { scenario: string; missingFrom: Side[] };

/** The requested scenarios both trees have, in the requested order, and those one of them lacks. */
export function comparableScenarios(requested: readonly string[], base: BenchInterface, current: BenchInterface): { scenarios: string[]; skipped: Skipped[] } {
  const scenarios: string[] = [];
  const skipped: Skipped[] = [];
  for (const scenario of requested) {
    const missingFrom = (['base', 'current'] as const).filter((side) => !(side === 'base' ? base : current).scenarios.includes(scenario));
    if (missingFrom.length === 0) scenarios.push(scenario);
    else skipped.push({ scenario, missingFrom });
  }
  return { scenarios, skipped };
}

/** The settings both sides must share to be comparable, as the flags that set them. */
const sharedSettings: [flag: string, value: (options: BenchOptions) => string][] = [
  ['duration', (o) => String(o.durationS)],
  ['connections', (o) => String(o.connections)],
  ['warmup', (o) => String(o.warmupS)],
  ['loader', (o) => o.loader],
  ['products', (o) => String(o.products)],
  ['recovery-orders', (o) => String(o.recoveryOrders)],
  ['million-orders', (o) => String(o.millionOrders)],
  ['drain-timeout', (o) => String(o.drainTimeoutS)],
];

/**
 * The shared settings as flags for a bench that knows `flags`. Every value is passed, defaults
 * included, so a side whose defaults differ still runs with these; a flag it does not know is left
 * out (an older bench would refuse it) and named in `unknown`.
 */
export function settingsArgs(options: BenchOptions, flags: Set<string>): { args: string[]; unknown: string[] } {
  const args: string[] = [];
  const unknown: string[] = [];
  for (const [flag, value] of sharedSettings) {
    if (flags.has(flag)) args.push(`--${flag}`, value(options));
    else unknown.push(`--${flag}`);
  }
  return { args, unknown };
}

export type Run = { scenario: string; round: number; side: Side };

/**
 * Scenario by scenario, base then current, `rounds` times: the two sides of a pair run minutes
 * apart at most, so what else the shared machine is doing weighs on both alike.
 */
export function runOrder(scenarios: readonly string[], rounds: number): Run[] {
  return scenarios.flatMap((scenario) =>
    Array.from({ length: rounds }, (_, i) => (['base', 'current'] as const).map((side) => ({ scenario, round: i + 1, side }))).flat(),
  );
}
