import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compareWithBaseline } from './lib/baseline.ts';
import { BenchPostgres } from './lib/database.ts';
import { chooseLoader } from './lib/load.ts';
import { parseOptions, usage, type ScenarioName } from './lib/options.ts';
import { describeMachine, ratios, renderTable, targets } from './lib/report.ts';
import { failedScenario, type Context, type ScenarioResult } from './lib/scenario-kit.ts';
import { scenarios } from './lib/scenarios.ts';
import { ROOT } from '../tests/support/process.ts';

/**
 * `bun run bench`: starts PostgreSQL (embedded in a temporary directory, or DATABASE_URL), then
 * for each scenario a fresh database and a fresh service process (`bench/server.ts`), drives it
 * with wrk or autocannon, checks the invariants, and prints a table; every figure also goes to
 * bench/results/<date>.json. With --baseline REF it measures that commit and this tree alternately
 * instead, each with its own bench (bench/lib/baseline.ts).
 */
const parsed = (() => {
  try {
    return parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
})();
if (parsed === 'help') {
  console.log(usage);
  process.exit(0);
}
const options = parsed;
if (options.baseline !== null) {
  // The base tree and this one each run their own bench (one scenario at a time); nothing below runs here.
  const code = await compareWithBaseline(options).catch((error: unknown) => {
    console.error(`--baseline: ${(error as Error).message}`);
    return 2;
  });
  process.exit(code);
}
const log = (message: string) => console.error(message);
const loader = chooseLoader(options.loader);
const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
// Others may share the machine: what it was already doing is part of the record.
const loadAverageAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);

log(`starting PostgreSQL (${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded, temporary directory'})`);
const postgres = await BenchPostgres.start(process.env.DATABASE_URL, () => {});
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: finishing the current scenario, then cleaning up (Ctrl-C again to leave at once)');
});

const outDir = path.resolve(ROOT, options.outDir);
const ctx: Context = {
  options,
  loader,
  postgres,
  tokens: { admin: `bench-admin-${randomBytes(8).toString('hex')}`, client: `bench-client-${randomBytes(8).toString('hex')}` },
  log,
  results: new Map<ScenarioName, ScenarioResult>(),
  profileDir: options.profile ? path.join(outDir, 'profiles', startedAt.replaceAll(':', '-')) : null,
};
let pgVersion = 'PostgreSQL';
try {
  const probe = await postgres.fresh('probe');
  const [row] = await probe.sql<{ v: string }[]>`SELECT current_setting('server_version') AS v`;
  pgVersion = `PostgreSQL ${row!.v} (${postgres.kind})`;
  await probe.drop();

  for (const name of options.scenarios) {
    if (interrupted) break;
    const started = performance.now();
    log(`▶ ${name}`);
    let result: ScenarioResult;
    try {
      result = await scenarios[name](ctx);
    } catch (error) {
      // One broken scenario is a finding, not a reason to lose the others' figures.
      log(`  ${name} failed: ${(error as Error).stack ?? error}`);
      result = failedScenario(name, ctx.options.connections, error);
    }
    ctx.results.set(name, result);
    const failed = Object.entries(result.checks).filter(([, c]) => !c.ok);
    log(`  ${name}: ${result.acceptedPerS === null ? '' : `${Math.round(result.acceptedPerS)} 2xx/s, `}${failed.length === 0 ? 'checks ok' : `FAILED ${failed.map(([n]) => n).join(', ')}`} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
} finally {
  await postgres.stop();
}

const machine = describeMachine(loader, pgVersion);
console.log(renderTable(options, { ...machine, loadAverageAtStart }, startedAt, ctx.results));

await mkdir(outDir, { recursive: true });
const file = path.join(outDir, `${startedAt.replaceAll(':', '-')}.json`);
const r = ratios(ctx.results);
await writeFile(
  file,
  JSON.stringify(
    {
      startedAt,
      finishedAt: new Date().toISOString(),
      command: `bun run bench ${process.argv.slice(2).join(' ')}`.trim(),
      profiles: ctx.profileDir ? path.relative(ROOT, ctx.profileDir) : null,
      settings: options,
      machine: { ...machine, loadAverageAtStart },
      scenarios: Object.fromEntries(ctx.results),
      ratios: r,
      targets: targets(ctx.results, r),
      peakRssMb: Math.max(0, ...[...ctx.results.values()].map((s) => s.memory.peakRssMb)),
      checksPassed: [...ctx.results.values()].every((s) => Object.values(s.checks).every((c) => c.ok)),
    },
    null,
    2,
  ) + '\n',
);
console.log(`\nresults: ${path.relative(process.cwd(), file)}`);
process.exit([...ctx.results.values()].every((s) => Object.values(s.checks).every((c) => c.ok)) ? 0 : 1);
