import { parseArgs } from 'node:util';

export const scenarioNames = ['framework', 'ceiling', 'naive', 'hot-sku', 'split', 'hot-sku-payments', 'many-skus', 'scarcity', 'recovery', 'million', 'webhooks', 'holds'] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export type BenchOptions = {
  durationS: number;
  connections: number;
  warmupS: number;
  scenarios: ScenarioName[];
  loader: 'auto' | 'wrk' | 'autocannon';
  products: number;
  recoveryOrders: number;
  millionOrders: number;
  drainTimeoutS: number;
  outDir: string;
  /** Run each service process under `bun --cpu-prof` (profiles next to the results). */
  profile: boolean;
  /** A git ref to measure alternately with this tree, each by its own bench (bench/lib/baseline.ts); null: this tree alone. */
  baseline: string | null;
  /** With a baseline: base-then-current pairs per scenario. */
  rounds: number;
  /** Service processes sharing the port (the service's WORKERS). */
  workers: number;
};

export const usage = `bun run bench [options]

  --duration S          seconds of load per scenario (default 20)
  --connections N       concurrent connections (default 64)
  --warmup S            seconds of warm-up load before each measured load (default 3)
  --scenarios A,B       subset of: ${scenarioNames.join(', ')} (default: all)
  --loader L            auto (wrk when on the PATH, else autocannon), wrk or autocannon (default auto)
  --products N          products in the many-SKUs scenario (default 1000)
  --recovery-orders N   pending orders left for the recovery scenario (default 100000)
  --million-orders N    orders pushed through one process in the memory scenario (default 1000000)
  --drain-timeout S     longest wait for accepted orders to become final (default 600)
  --out DIR             where the JSON results go (default bench/results)
  --profile             run each service under bun --cpu-prof; profiles (.cpuprofile and .md) go
                        to DIR/profiles/<date>/<scenario>.*
  --baseline REF        also measure the commit REF, checked out into a temporary git worktree, with
                        its own bench: per scenario base then this tree, the figures of both and
                        current ÷ base; one JSON, DIR/baseline-<date>.json
  --rounds N            with --baseline: base-then-current pairs per scenario (default 1)
  --workers N           service processes sharing the port, the service's WORKERS (default 1); the
                        service CPU is the sum over all of them, memory is the first process's

DATABASE_URL set: every scenario runs on a new database created on that server (CREATEDB needed);
unset: on an embedded PostgreSQL in a temporary directory, removed afterwards.`;

function positive(name: string, raw: string | undefined, fallback: number, allowZero = false): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) throw new Error(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got "${raw}"`);
  return value;
}

export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      connections: { type: 'string' },
      warmup: { type: 'string' },
      scenarios: { type: 'string' },
      loader: { type: 'string' },
      products: { type: 'string' },
      'recovery-orders': { type: 'string' },
      'million-orders': { type: 'string' },
      'drain-timeout': { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'boolean' },
      baseline: { type: 'string' },
      rounds: { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const scenarios = (values.scenarios?.split(',').map((s) => s.trim()).filter(Boolean) ?? [...scenarioNames]) as ScenarioName[];
  const unknown = scenarios.filter((s) => !scenarioNames.includes(s));
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')}; known: ${scenarioNames.join(', ')}`);
  const loader = values.loader ?? 'auto';
  if (loader !== 'auto' && loader !== 'wrk' && loader !== 'autocannon') throw new Error(`--loader must be auto, wrk or autocannon, got "${loader}"`);
  if (values.rounds !== undefined && values.baseline === undefined) throw new Error('--rounds needs --baseline');
  // The sides' profiles would go to their temporary result directories, and be lost.
  if (values.profile && values.baseline !== undefined) throw new Error('--profile and --baseline do not go together: profile one tree at a time');
  if (values.baseline === '') throw new Error('--baseline needs a git ref');
  const rounds = positive('rounds', values.rounds, 1);
  if (!Number.isInteger(rounds)) throw new Error(`--rounds must be a whole number, got "${values.rounds}"`);
  const workers = positive('workers', values.workers, 1);
  if (!Number.isInteger(workers) || workers > 64) throw new Error(`--workers must be a whole number from 1 to 64, got "${values.workers}"`);
  // Every process would write its profile under the scenario's one name.
  if (values.profile && workers > 1) throw new Error('--profile and --workers above 1 do not go together: profile one process');
  // The base tree's bench may not know the flag; each side of a comparison runs one process.
  if (values.baseline !== undefined && workers > 1) throw new Error('--baseline and --workers above 1 do not go together');
  return {
    durationS: positive('duration', values.duration, 20),
    connections: Math.round(positive('connections', values.connections, 64)),
    warmupS: positive('warmup', values.warmup, 3, true),
    // Keep the order of the list above: the later scenarios size themselves from the earlier ones.
    scenarios: scenarioNames.filter((s) => scenarios.includes(s)),
    loader,
    products: Math.round(positive('products', values.products, 1000)),
    recoveryOrders: Math.round(positive('recovery-orders', values['recovery-orders'], 100_000)),
    millionOrders: Math.round(positive('million-orders', values['million-orders'], 1_000_000)),
    drainTimeoutS: positive('drain-timeout', values['drain-timeout'], 600),
    outDir: values.out ?? 'bench/results',
    profile: values.profile ?? false,
    baseline: values.baseline ?? null,
    rounds,
    workers,
  };
}
