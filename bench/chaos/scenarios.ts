import { waitFor } from '../../tests/support/wait.ts';
import type { ChaosPostgres } from './postgres.ts';
import { OrderLoad } from './load.ts';
import { RoundKit, type RoundResult, type Tokens } from './round.ts';

export const scenarioNames = ['pg-kill', 'pg-pause', 'frozen-node'] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export type ChaosOptions = {
  clients: number;
  /** Seconds of load before, between and after faults. */
  loadS: number;
  /** Seconds PostgreSQL stays down after a kill before it is started again. */
  downS: number;
  /** Seconds PostgreSQL stays frozen in pg-pause. */
  pauseS: number;
  /** Longest wait for every accepted order to be final after the last fault. */
  settleS: number;
  /** Environment for the service processes (e.g. a shorter REQUEST_TIMEOUT_MS in tests). */
  serviceEnv: Record<string, string>;
};

type Run = (pg: ChaosPostgres, kit: RoundKit, options: ChaosOptions) => Promise<{ recoveryS: number | null; note: string; load: OrderLoad; from: number }>;

const seconds = (ms: number) => Math.round(ms) / 1000;

async function startLoad(kit: RoundKit, bases: string[], options: ChaosOptions): Promise<OrderLoad> {
  // One product with ample stock, one that runs out: both the happy path and "stock short" run.
  const productIds = [await kit.product(bases[0]!, 1_000_000), await kit.product(bases[0]!, 150)];
  return new OrderLoad({ bases, clientToken: kit.tokens.client, clients: options.clients, productIds, requestTimeoutMs: 30_000 });
}

/** kill -9 of PostgreSQL under load, started again `downS` later; twice. */
const pgKill: Run = async (pg, kit, options) => {
  const service = await kit.startService(options.serviceEnv);
  const load = await startLoad(kit, [service.base], options);
  const recoveries: number[] = [];
  for (let k = 0; k < 2; k++) {
    await Bun.sleep(options.loadS * 1000);
    await pg.faults!.kill();
    await Bun.sleep(options.downS * 1000);
    await pg.faults!.start();
    const back = performance.now();
    const first = await waitFor(() => load.firstAcceptedAfter(back), 30_000).catch(() => undefined);
    recoveries.push(first === undefined ? Number.POSITIVE_INFINITY : seconds(first - back));
  }
  await Bun.sleep(options.loadS * 1000);
  await load.stop(30_000);
  return { recoveryS: Math.max(...recoveries), note: `first 202 after each restart: ${recoveries.map((s) => `${s} s`).join(', ')}`, load, from: performance.now() };
};

/** Every process of PostgreSQL frozen (SIGSTOP) for `pauseS` under load. */
const pgPause: Run = async (pg, kit, options) => {
  const service = await kit.startService(options.serviceEnv);
  const load = await startLoad(kit, [service.base], options);
  await Bun.sleep(options.loadS * 1000);
  await pg.faults!.pause();
  const paused = performance.now();
  await Bun.sleep(options.pauseS * 1000);
  await pg.faults!.resume();
  const back = performance.now();
  const during = load.answers.filter((a) => a.at >= paused && a.at <= back + 100);
  const unavailable = during.filter((a) => a.status === 503).length;
  const first = await waitFor(() => load.firstAcceptedAfter(back), 30_000).catch(() => undefined);
  await Bun.sleep(options.loadS * 1000);
  await load.stop(30_000);
  return {
    recoveryS: first === undefined ? null : seconds(first - back),
    note: `${during.length} answers during the ${options.pauseS} s pause, ${unavailable} of them 503`,
    load,
    from: performance.now(),
  };
};

/**
 * Two processes on one database; the one holding orders is frozen (SIGSTOP) past its lease and
 * heartbeat, twice. The other must take over everything the frozen one held, each time.
 */
const frozenNode: Run = async (_pg, kit, options) => {
  const env = {
    ...options.serviceEnv,
    LEASE_MS: '4000',
    HEARTBEAT_MS: '500',
    HEARTBEAT_TTL_MS: '2000',
    LEASE_RESCUE_CRON: '* * * * * *',
    RETRY_SWEEP_CRON: '* * * * * *',
  };
  const frozen = await kit.startService({ ...env, NODE_ID: 'chaos-frozen' });
  await kit.startService({ ...env, NODE_ID: 'chaos-healthy' });
  // Slow payments keep orders in the frozen process's hands when it stops.
  kit.payments.behaviour.settings = { ...kit.payments.behaviour.settings, latencyMs: { min: 300, max: 900 } };
  const load = await startLoad(kit, [frozen.base], options);
  const takeovers: string[] = [];
  let worst = 0;
  for (let k = 0; k < 2; k++) {
    await Bun.sleep(options.loadS * 1000);
    frozen.proc.kill('SIGSTOP');
    const at = performance.now();
    const [node] = await kit.sql<{ incarnation: string }[]>`SELECT incarnation FROM nodes WHERE node_id = 'chaos-frozen'`;
    const incarnation = node!.incarnation;
    const held = (await kit.sql<{ id: string }[]>`SELECT id FROM orders WHERE lease_owner = ${incarnation} AND status IN ('pending', 'reserved')`).map((r) => r.id);
    let left = held.length;
    while (left > 0 && performance.now() - at < 20_000) {
      await Bun.sleep(100);
      const [row] = await kit.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM orders WHERE id = ANY(${held}::uuid[]) AND lease_owner = ${incarnation} AND status IN ('pending', 'reserved')`;
      left = row!.n;
    }
    const took = seconds(performance.now() - at);
    worst = Math.max(worst, left > 0 ? Number.POSITIVE_INFINITY : took);
    takeovers.push(`${held.length - left}/${held.length} in ${took} s`);
    frozen.proc.kill('SIGCONT');
  }
  kit.payments.behaviour.settings = { ...kit.payments.behaviour.settings, latencyMs: { min: 10, max: 60 } };
  await Bun.sleep(options.loadS * 1000);
  await load.stop(30_000);
  return { recoveryS: worst, note: `taken over: ${takeovers.join(', ')}`, load, from: performance.now() };
};

const runs: Record<ScenarioName, Run> = { 'pg-kill': pgKill, 'pg-pause': pgPause, 'frozen-node': frozenNode };

export function needsFaults(name: ScenarioName): boolean {
  return name !== 'frozen-node';
}

export async function runRound(name: ScenarioName, round: number, pg: ChaosPostgres, tokens: Tokens, options: ChaosOptions): Promise<RoundResult> {
  const databaseUrl = await pg.fresh(`chaos_${name.replace('-', '_')}_${round}`);
  await migrateDatabase(databaseUrl);
  const kit = new RoundKit(databaseUrl, tokens);
  try {
    const { recoveryS, note, load, from } = await runs[name](pg, kit, options);
    const audit = await kit.settleAndAudit(load, from, options.settleS * 1000);
    return { scenario: name, round, recoveryS, note, ...audit };
  } finally {
    await kit.close();
  }
}

async function migrateDatabase(url: string) {
  const { connect } = await import('../../src/db/client.ts');
  const { migrate } = await import('../../src/db/migrate.ts');
  const database = connect(url, { max: 2 });
  try {
    await migrate(database.sql);
  } finally {
    await database.close();
  }
}
