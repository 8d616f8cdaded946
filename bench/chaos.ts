import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../tests/support/process.ts';
import { chaosPostgres } from './chaos/postgres.ts';
import { renderTable, summary, verdict } from './chaos/report.ts';
import type { RoundResult } from './chaos/round.ts';
import { needsFaults, runRound, scenarioNames, type ScenarioName } from './chaos/scenarios.ts';

const usage = `bun run chaos [options]

Faults PostgreSQL and the service under order load, then checks that nothing accepted was lost,
stuck, oversold or charged twice, and how fast service resumed.

  --rounds N          rounds of each scenario (default 3)
  --scenarios A,B     subset of: ${scenarioNames.join(', ')} (default: all)
  --clients N         concurrent clients placing orders (default 16)
  --load S            seconds of load before, between and after faults (default 3)
  --down S            seconds PostgreSQL stays down after a kill -9 (default 3)
  --pause S           seconds PostgreSQL stays frozen (default 8)
  --settle S          longest wait for every accepted order to be final (default 30)
  --out DIR           where the JSON results go (default bench/results)

Scenarios:
  pg-kill      kill -9 of PostgreSQL under load, started again --down seconds later; twice a round
  pg-pause     every PostgreSQL process frozen (SIGSTOP) for --pause seconds under load
  frozen-node  two service processes; the one holding orders is frozen (SIGSTOP) past its lease
               and heartbeat, twice a round; the other must take over all its orders each time

DATABASE_URL unset: chaos runs its own embedded PostgreSQL in a temporary directory. Set, the
pg-* scenarios need the commands that fault that server (run with sh -c), for example:
  CHAOS_PG_KILL='docker kill -s KILL db' CHAOS_PG_START='docker start db'
  CHAOS_PG_PAUSE='docker pause db' CHAOS_PG_RESUME='docker unpause db'
without them only frozen-node runs. The role needs CREATEDB (each round gets a new database).`;

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    rounds: { type: 'string' },
    scenarios: { type: 'string' },
    clients: { type: 'string' },
    load: { type: 'string' },
    down: { type: 'string' },
    pause: { type: 'string' },
    settle: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const number = (name: string, raw: string | undefined, fallback: number) => {
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} must be a positive number\n\n${usage}`);
    process.exit(2);
  }
  return value;
};
const rounds = number('rounds', values.rounds, 3);
const wanted = (values.scenarios?.split(',') ?? [...scenarioNames]) as ScenarioName[];
for (const name of wanted) {
  if (!scenarioNames.includes(name)) {
    console.error(`unknown scenario ${name}\n\n${usage}`);
    process.exit(2);
  }
}
const options = {
  clients: number('clients', values.clients, 16),
  loadS: number('load', values.load, 3),
  downS: number('down', values.down, 3),
  pauseS: number('pause', values.pause, 8),
  settleS: number('settle', values.settle, 30),
  serviceEnv: {},
};

const pg = await chaosPostgres(process.env.DATABASE_URL, {
  kill: process.env.CHAOS_PG_KILL,
  start: process.env.CHAOS_PG_START,
  pause: process.env.CHAOS_PG_PAUSE,
  resume: process.env.CHAOS_PG_RESUME,
});
const tokens = { admin: `chaos-admin-${randomBytes(8).toString('hex')}`, client: `chaos-client-${randomBytes(8).toString('hex')}` };
const results: RoundResult[] = [];
const failures = new Map<RoundResult, string[]>();
const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
console.error(`chaos ${startedAt}: PostgreSQL ${pg.kind}; ${rounds} round(s) of ${wanted.join(', ')}; ${options.clients} clients`);
try {
  for (const name of wanted) {
    if (needsFaults(name) && !pg.faults) {
      console.error(`${name}: skipped (DATABASE_URL without CHAOS_PG_* commands: chaos cannot fault that server)`);
      continue;
    }
    for (let round = 1; round <= rounds; round++) {
      const result = await runRound(name, round, pg, tokens, options);
      results.push(result);
      failures.set(result, verdict(result, { requestTimeoutMs: 4000 }));
      console.error(`${name} round ${round}: ${(failures.get(result) ?? []).join('; ') || 'ok'} (${result.note})`);
    }
  }
} finally {
  await pg.close();
}
console.log(renderTable(results));
console.log('');
console.log(summary(results, failures));
const outDir = path.resolve(ROOT, values.out ?? 'bench/results');
await mkdir(outDir, { recursive: true });
const file = path.join(outDir, `chaos-${startedAt.replaceAll(':', '-')}.json`);
await writeFile(file, JSON.stringify({ startedAt, postgres: pg.kind, options, results: results.map((r) => ({ ...r, problems: failures.get(r) })) }, null, 2));
console.log(`\nresults: ${path.relative(ROOT, file)}`);
process.exit([...failures.values()].some((p) => p.length > 0) ? 1 : 0);
