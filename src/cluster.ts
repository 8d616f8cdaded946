import type { Subprocess } from 'bun';
import { poolOptions, type Config } from './config.ts';
import { connect } from './db/client.ts';
import { openPool, startDatabaseServer, type OpenedDatabase } from './db/open.ts';
import { backoffMs, type Backoff } from './lib/backoff.ts';
import { toError } from './lib/errors.ts';
import type { Logger } from './lib/logger.ts';

/**
 * WORKERS=N: N service processes on one port and one database, each a full node (its own node id,
 * pool, stock actors, order worker and jobs), as replicas on several machines already are. The
 * process started by hand is the primary: it opens the database (starts and migrates the embedded
 * server once, or takes DATABASE_URL), serves, and runs N - 1 workers of the same entry file,
 * which skip both. Linux spreads new connections over the processes (`reusePort`, http/server.ts).
 * Nothing is shared in memory: the advisory locks and the version fences that keep replicas exact
 * keep workers exact, and a worker that dies is a crashed node whose leases the others (or its
 * next start, same node id) take over.
 */

/** Set by the primary in a worker's environment: the worker's index, 1 … WORKERS - 1. */
const WORKER_INDEX = 'STOCKROOM_WORKER_INDEX';

export type Place = { kind: 'primary'; workers: number } | { kind: 'worker'; index: number };

export function placeOf(config: Pick<Config, 'workers'>, env: Record<string, string | undefined> = process.env): Place {
  const index = Number(env[WORKER_INDEX]);
  return Number.isInteger(index) && index > 0 ? { kind: 'worker', index } : { kind: 'primary', workers: config.workers - 1 };
}

/** Connections kept free for everything but the service: psql, `bun run db:migrate`, the bench's checks, a second start adopting the server. */
const HEADROOM = 20;
/** Besides its pool, each process holds one connection for `/health` (Database.ping) and one for its pipelined stock batches (Database.lane). */
const PER_PROCESS_EXTRA = 2;

/**
 * Each process's pool: DB_POOL_MAX, unless N of them (plus their two other connections) would not
 * fit in what the server accepts, less the headroom; then what fits. Connections open on demand,
 * so a larger total costs nothing until the load asks for it.
 */
export function poolPerProcess(poolMax: number, processes: number, usable: number): number {
  const fits = Math.floor((usable - HEADROOM) / processes) - PER_PROCESS_EXTRA;
  if (fits < 2) {
    throw new Error(`WORKERS=${processes} needs at least ${processes * (2 + PER_PROCESS_EXTRA) + HEADROOM} connections; the database server accepts ${usable}`);
  }
  return Math.min(poolMax, fits);
}

/** What the server accepts from an ordinary role: max_connections less the slots kept for superusers and reserved roles. */
async function usableConnections(url: string, connectTimeoutMs: number): Promise<number> {
  const probe = connect(url, { max: 1, connectTimeoutMs, applicationName: 'stockroom-cluster' });
  try {
    const [row] = await probe.sql<{ usable: number }[]>`
      SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int
             - coalesce(current_setting('reserved_connections', true)::int, 0) AS usable`;
    return row!.usable;
  } finally {
    await probe.close();
  }
}

export type NodeDatabase = OpenedDatabase & { poolMax: number };

/** This process's database: a worker uses its primary's (migrated) one; a primary opens it for the cluster. */
export async function openNodeDatabase(config: Config, place: Place, log: (message: string) => void): Promise<NodeDatabase> {
  if (place.kind === 'worker') {
    const opened = await openPool({ url: config.databaseUrl!, embedded: undefined }, poolOptions(config), log, { migrations: false });
    return { ...opened, poolMax: config.dbPoolMax };
  }
  const server = await startDatabaseServer(config, log);
  let poolMax = config.dbPoolMax;
  try {
    if (place.workers > 0) poolMax = poolPerProcess(config.dbPoolMax, place.workers + 1, await usableConnections(server.url, config.dbConnectTimeoutMs));
  } catch (error) {
    await server.embedded?.stop();
    throw error;
  }
  return { ...(await openPool(server, poolOptions(config, { max: poolMax }), log)), poolMax };
}

/** How long after its deadline a process's shutdown is cut short (main.ts); a primary waits its workers that long too. */
export const HARD_STOP_GRACE_MS = 3_000;

/**
 * In a worker: `onGone` when the primary is gone, however it went (exit, crash, kill -9): the
 * kernel closes its end of the IPC channel, and the worker sees it at once.
 */
export function watchPrimary(onGone: () => void): void {
  if (!process.connected) return onGone();
  process.once('disconnect', onGone);
}

export type WorkerSpec = {
  count: number;
  /** The primary's node id: worker i is `<nodeId>-w<i>`, the same at every restart (its previous incarnation's leases go at once). */
  nodeId: string;
  /** The port the primary listens on (with PORT=0 each process would otherwise get another one). */
  port: number;
  databaseUrl: string;
  poolMax: number;
  logger: Logger;
};

/** A worker that died is started again after this (full jitter, doubling while it keeps dying young). */
const RESTART: Backoff = { baseMs: 500, maxMs: 30_000 };
/** A worker that ran this long before dying is restarted as if it were its first death. */
const STEADY_MS = 60_000;

/**
 * Bun's flags of the primary (`--smol`, a collector setting) for its workers too, except the
 * reloaders: under `bun run dev` the primary restarts on a change, its workers stop with it and
 * the new primary starts new ones.
 */
const workerArgv = () => process.execArgv.filter((arg) => arg !== '--watch' && arg !== '--hot');

type Slot = { index: number; nodeId: string; proc?: Subprocess; startedAt: number; deaths: number; timer?: ReturnType<typeof setTimeout> };

/** The primary's workers: started, started again when they die, stopped with the primary. */
export class Workers {
  private readonly slots: Slot[];
  private stopping = false;

  private constructor(private readonly spec: WorkerSpec) {
    this.slots = Array.from({ length: spec.count }, (_, i) => ({ index: i + 1, nodeId: `${spec.nodeId}-w${i + 1}`, startedAt: 0, deaths: 0 }));
  }

  static start(spec: WorkerSpec): Workers {
    const workers = new Workers(spec);
    for (const slot of workers.slots) workers.launch(slot);
    return workers;
  }

  /** The worker processes running now. */
  get pids(): number[] {
    return this.slots.flatMap((slot) => (slot.proc ? [slot.proc.pid] : []));
  }

  private launch(slot: Slot) {
    slot.startedAt = performance.now();
    const { spec } = this;
    try {
      slot.proc = Bun.spawn([process.execPath, ...workerArgv(), Bun.main], {
        env: {
          ...process.env,
          [WORKER_INDEX]: String(slot.index),
          NODE_ID: slot.nodeId,
          DATABASE_URL: spec.databaseUrl,
          PORT: String(spec.port),
          DB_POOL_MAX: String(spec.poolMax),
        },
        stdio: ['ignore', 'inherit', 'inherit'],
        // A session of its own: a Ctrl-C at the terminal reaches the primary alone, which forwards it once.
        detached: true,
        // No messages: the channel is there to close when the primary dies (watchPrimary).
        ipc: () => {},
        onExit: (_proc, code, signal) => this.exited(slot, code, signal),
      });
      spec.logger.info({ worker: slot.nodeId, pid: slot.proc.pid }, 'worker started');
    } catch (error) {
      spec.logger.error({ err: toError(error), worker: slot.nodeId }, 'could not start a worker');
      this.exited(slot, null, null);
    }
  }

  private exited(slot: Slot, code: number | null, signal: number | string | null) {
    slot.proc = undefined;
    if (this.stopping) {
      this.spec.logger.info({ worker: slot.nodeId, code, signal }, 'worker stopped');
      return;
    }
    slot.deaths = performance.now() - slot.startedAt >= STEADY_MS ? 1 : slot.deaths + 1;
    const restartInMs = backoffMs(slot.deaths, RESTART);
    this.spec.logger.error({ worker: slot.nodeId, code, signal, restartInMs }, 'worker exited: starting it again');
    slot.timer = setTimeout(() => this.launch(slot), restartInMs);
  }

  /** Passes a signal on (a second Ctrl-C: they exit at once too). */
  signal(signal: NodeJS.Signals) {
    for (const slot of this.slots) slot.proc?.kill(signal);
  }

  /**
   * Forwards the stop signal and waits for every worker's own graceful shutdown (each bounded by
   * SHUTDOWN_TIMEOUT_MS and its hard stop); one still there after `timeoutMs` is killed. Clean:
   * every worker exited 0.
   */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<{ clean: boolean }> {
    this.stopping = true;
    const running = this.slots.flatMap((slot) => {
      clearTimeout(slot.timer);
      return slot.proc ? [slot.proc] : [];
    });
    for (const proc of running) proc.kill(signal);
    const exited = Promise.all(running.map((proc) => proc.exited));
    const codes = await Promise.race([exited, Bun.sleep(timeoutMs).then(() => undefined)]);
    if (codes) return { clean: codes.every((code) => code === 0) };
    this.spec.logger.error({ timeoutMs }, 'workers did not stop in time: killing them');
    for (const proc of running) proc.kill('SIGKILL');
    await exited;
    return { clean: false };
  }
}
