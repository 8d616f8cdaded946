import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from '../../tests/support/process.ts';
import { compare, figuresOf, type RunRecord } from './baseline-figures.ts';
import { comparableScenarios, runOrder, settingsArgs, type Run } from './baseline-plan.ts';
import { renderComparison, type ComparisonSetting } from './baseline-report.ts';
import { checkoutBase, hasUncommittedChanges, headCommit, readInterface, resolveCommit, runScenario, type RunJson } from './baseline-tree.ts';
import type { BenchOptions } from './options.ts';

/**
 * `bun run bench --baseline REF`: the base commit and the working tree measured on this machine in
 * one sitting, each by its own bench, scenario by scenario in turn, since two machines (or two
 * hours on a shared one) differ more than most changes do. Returns the exit code.
 */
export async function compareWithBaseline(options: BenchOptions): Promise<number> {
  const log = (message: string) => console.error(message);
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const ref = options.baseline!;
  const base = { ref, commit: resolveCommit(ref) };
  const current = { commit: headCommit(), dirty: hasUncommittedChanges() };
  let interrupted = false;
  process.on('SIGINT', () => {
    // Ctrl-C reaches the running bench too: it finishes its scenario, then this removes the base tree.
    // `bun run` passes the signal on as well, so it can come twice.
    if (!interrupted) log('interrupted: the running side finishes its scenario, then the base worktree is removed');
    interrupted = true;
  });

  log(`checking out ${ref} (${base.commit.slice(0, 7)}) into a temporary worktree`);
  const tree = await checkoutBase(base.commit);
  let measured: Awaited<ReturnType<typeof measureAlternately>>;
  try {
    measured = await measureAlternately(tree.dir, options, () => interrupted, log);
  } finally {
    await tree.remove();
  }

  const { records, ...plan } = measured;
  // Every scenario asked for is a run unless Ctrl-C came first.
  if (records.length === 0) return 130;
  const setting: ComparisonSetting = { startedAt, options, base, current, ...plan };
  const comparisons = compare(records);
  console.log(renderComparison(setting, comparisons));
  const checksPassed = records.every((r) => r.figures.failures.length === 0);
  const file = await writeResults(options, startedAt, { ...setting, finishedAt: new Date().toISOString(), command: commandLine(), comparisons, checksPassed, runs: records });
  console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
  return interrupted ? 130 : checksPassed ? 0 : 1;
}

/** Each scenario both benches have, base then current, round after round, until done or `stopped()`. */
async function measureAlternately(baseDir: string, options: BenchOptions, stopped: () => boolean, log: (message: string) => void) {
  const [baseBench, currentBench] = [readInterface(baseDir), readInterface(ROOT)];
  const { scenarios, skipped } = comparableScenarios(options.scenarios, baseBench, currentBench);
  if (scenarios.length === 0) throw new Error(`${options.baseline} has none of the scenarios asked for (${options.scenarios.join(', ')}); it has ${baseBench.scenarios.join(', ')}`);
  for (const s of skipped) log(`skipping ${s.scenario}: the ${s.missingFrom.join(' and the ')} bench has no such scenario`);
  const settings = { base: settingsArgs(options, baseBench.flags), current: settingsArgs(options, currentBench.flags) };
  const records: (RunRecord & { report: RunReport })[] = [];
  for (const run of runOrder(scenarios, options.rounds)) {
    if (stopped()) break;
    log(`▶ ${run.scenario}, round ${run.round}: ${run.side}`);
    const { exitCode, json } = await runScenario(run.side === 'base' ? baseDir : ROOT, `[${run.side}]`, run.scenario, settings[run.side].args);
    records.push({ ...run, exitCode, figures: figuresOf(json?.scenarios?.[run.scenario], exitCode), report: reportOf(json, run) });
  }
  return { skipped, unknownFlags: { base: settings.base.unknown, current: settings.current.unknown }, records };
}

/** What the merged JSON keeps of a side's own JSON: when and how it ran, and its whole scenario result. */
type RunReport = { startedAt?: string; command?: string; machine?: unknown; result: unknown } | null;

function reportOf(json: RunJson | null, run: Run): RunReport {
  return json && { startedAt: json.startedAt, command: json.command, machine: json.machine, result: json.scenarios?.[run.scenario] ?? null };
}

const commandLine = () => `bun run bench ${process.argv.slice(2).join(' ')}`.trim();

async function writeResults(options: BenchOptions, startedAt: string, results: object): Promise<string> {
  const outDir = path.resolve(ROOT, options.outDir);
  await mkdir(outDir, { recursive: true });
  const file = path.join(outDir, `baseline-${startedAt.replaceAll(':', '-')}.json`);
  await writeFile(file, JSON.stringify(results, null, 2) + '\n');
  return file;
}
