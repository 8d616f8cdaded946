import { afterAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { poolPerProcess } from '../src/cluster.ts';
import { loadConfig } from '../src/config.ts';
import { connect, type Database } from '../src/db/client.ts';
import { expectStockConsistent } from './support/invariants.ts';
import { KeptConnection } from './support/kept-connection.ts';
import { fastRecoveryEnv, spawnService, type ServiceProcess } from './support/process.ts';
import { rawRequest } from './support/raw-http.ts';
import { Api, tokens } from './support/service.ts';
import { waitFor } from './support/wait.ts';

/**
 * WORKERS=2 as `bun run start` runs it: real processes on one port, the embedded PostgreSQL in a
 * temporary DATA_DIR started by the primary. The tests run in order on one data directory: the
 * cluster serves from both processes, sells a scarce product exactly, survives kill -9 of a
 * worker and of the primary, and stops on SIGTERM with every process exiting 0.
 */
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'stockroom-workers-'));
await chmod(dataDir, 0o755); // as root, the server runs as "postgres", which must reach the directory
const PRIMARY = 'cluster';
const WORKER = 'cluster-w1';
const SHUTDOWN_TIMEOUT_MS = 3_000;
const env: Record<string, string> = {
  DATABASE_URL: '',
  DATA_DIR: dataDir,
  WORKERS: '2',
  NODE_ID: PRIMARY,
  ADMIN_TOKEN: tokens.admin,
  CLIENT_TOKEN: tokens.client,
  LOG_LEVEL: 'info',
  PAYMENT_LATENCY_MS: '5-30',
  PAYMENT_FAILURE_RATE: '0',
  PAYMENT_TIMEOUT_RATE: '0',
  ...fastRecoveryEnv,
  SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
};

let cluster: ServiceProcess | undefined;
let db: Database | undefined;

afterAll(async () => {
  if (cluster && cluster.proc.exitCode === null) {
    cluster.proc.kill('SIGTERM');
    await cluster.proc.exited;
  }
  for (const pid of cluster ? workerPids(cluster.output()) : []) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await db?.close();
  const postmaster = postmasterPid();
  if (postmaster && alive(postmaster)) process.kill(postmaster, 'SIGINT');
  await waitFor(() => !postmaster || !alive(postmaster), 30_000, 'the embedded server to stop');
  await rm(dataDir, { recursive: true, force: true });
});

/** Running, and not a zombie waiting for its parent (or init) to reap it. */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] !== 'Z';
  } catch {
    return false;
  }
};

function postmasterPid(): number | undefined {
  try {
    return Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

type LogLine = { msg: string; node: string; worker?: string; pid: number; code?: number | null; signal?: string };
const logLines = (output: string): LogLine[] =>
  output.split('\n').flatMap((line) => {
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });

/** Every worker process the primary started, from its log ("worker started", with the pid). */
const workerPids = (output: string) => logLines(output).filter((l) => l.msg === 'worker started').map((l) => (l as LogLine & { pid: number }).pid);
const latestWorkerPid = (output: string) => workerPids(output).at(-1);

/** The nodes that answer `/health` over `tries` new connections (the kernel picks a process per connection). */
async function nodesAnswering(port: number, tries = 30): Promise<Set<string>> {
  const nodes = new Set<string>();
  for (let i = 0; i < tries; i++) {
    const reply = await rawRequest(port, 'GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n');
    if (reply.status === 200) nodes.add((JSON.parse(reply.body) as { node: string }).node);
  }
  return nodes;
}

/** Starts the cluster on the data directory and waits until both processes answer. */
async function startCluster(): Promise<ServiceProcess> {
  cluster = await spawnService(env, { timeoutMs: 60_000 });
  const state = JSON.parse(readFileSync(path.join(dataDir, 'embedded-postgres.json'), 'utf8')) as { port: number; password: string };
  await db?.close();
  db = connect(`postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${state.port}/postgres`, { max: 4 });
  const port = cluster.port;
  await waitFor(async () => (await nodesAnswering(port, 10)).size === 2, 30_000, 'both processes to answer');
  return cluster;
}

async function product(api: Api, sku: string, initialStock: number): Promise<string> {
  const reply = await api.post('/api/v1/products', { sku, name: sku, price: '3.00', initialStock });
  expect(reply.status).toBe(201);
  return reply.body.id;
}

/**
 * A new connection, and the node that serves it. The kernel's pick is a hash of the connection's
 * addresses, so a few clients can all land on one process by chance: one that would make its
 * node serve more than half of them connects again (a few times at most: a node may be down).
 */
async function connectBalanced(port: number, clientsOn: Map<string, number>, clients: number) {
  for (let attempt = 1; ; attempt++) {
    const connection = await KeptConnection.open(port);
    try {
      const node = (await new Api(connection.handle).get('/health', 'anonymous')).body.node as string;
      if ((clientsOn.get(node) ?? 0) < clients / 2 || attempt >= 10) {
        clientsOn.set(node, (clientsOn.get(node) ?? 0) + 1);
        return { connection, node };
      }
    } catch (error) {
      connection.close();
      throw error;
    }
    connection.close();
  }
}

/**
 * Clients, each on a connection of its own (a new one when it breaks, as a real client retries):
 * which node served each accepted order is known from the connection's `/health`.
 */
function orderLoad(port: number, productId: string, clients: number, limit = Infinity) {
  const accepted = new Set<string>();
  const byNode = new Map<string, number>();
  /** Answers other than 202: none is expected, a process that stops finishes what it took. */
  const refused: string[] = [];
  let sent = 0;
  let running = true;
  const client = async () => {
    let connection: KeptConnection | undefined;
    let node = '';
    while (running && sent < limit) {
      try {
        if (!connection) ({ connection, node } = await connectBalanced(port, clientsOn, clients));
        sent++;
        const reply = await new Api(connection.handle).post('/api/v1/orders', { customerId: `c-${node}`, items: [{ productId, quantity: 1 }] }, 'client');
        if (reply.status !== 202) {
          refused.push(`${reply.status} from ${node}: ${JSON.stringify(reply.body)}`);
          continue;
        }
        accepted.add(reply.body.id);
        byNode.set(node, (byNode.get(node) ?? 0) + 1);
      } catch {
        connection?.close();
        if (connection) clientsOn.set(node, clientsOn.get(node)! - 1);
        connection = undefined;
        await Bun.sleep(20); // the scenario: the process went away; a real client retries a little later
      }
    }
    if (connection) {
      connection.close();
      clientsOn.set(node, clientsOn.get(node)! - 1);
    }
  };
  const clientsOn = new Map<string, number>();
  const done = Promise.all(Array.from({ length: clients }, client));
  return {
    accepted,
    byNode,
    /** Waits for the clients to send all `limit` orders. */
    async finished() {
      await done;
      expect(refused).toEqual([]);
    },
    async stop() {
      running = false;
      await this.finished();
    },
  };
}

async function everyOrderFinal(ids: Iterable<string>, timeoutMs = 60_000) {
  const list = [...ids];
  const [stored] = await db!.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orders WHERE id = ANY(${list}::uuid[])`;
  expect(stored!.n).toBe(list.length); // nothing accepted is lost
  return waitFor(
    async () => {
      const rows = await db!.sql<{ status: string; n: number }[]>`
        SELECT status, count(*)::int AS n FROM orders WHERE id = ANY(${list}::uuid[]) GROUP BY status`;
      const counts = Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
      return (counts.pending ?? 0) + (counts.reserved ?? 0) === 0 ? counts : null;
    },
    timeoutMs,
    'every accepted order to be final',
  );
}

describe('WORKERS and the pool of each process', () => {
  test('WORKERS is an integer from 1 to 64, 1 when unset; anything else stops the start', () => {
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ WORKERS: '8' }).workers).toBe(8);
    for (const bad of ['0', '65', '2.5', 'two']) expect(() => loadConfig({ WORKERS: bad })).toThrow(`WORKERS must be an integer between 1 and 64, got "${bad}"`);
  });

  test('each process gets DB_POOL_MAX while N pools and their health and stock pipeline connections fit the server, else what fits', () => {
    const embedded = 300 - 3; // max_connections=300 (src/db/embedded.ts), less superuser_reserved_connections
    expect(poolPerProcess(16, 2, embedded)).toBe(16);
    expect(poolPerProcess(16, 16, embedded)).toBe(15); // 16 × (15 + 2) = 272, within 297 - 20
    expect(poolPerProcess(16, 64, embedded)).toBe(2); // 64 × (2 + 2) = 256, within 297 - 20
    expect(() => poolPerProcess(16, 64, 100)).toThrow('WORKERS=64 needs at least 276 connections; the database server accepts 100');
  });
});

describe('WORKERS=2: two processes on one port and one embedded database', () => {
  test(
    'requests are answered by both nodes, each registered in nodes',
    async () => {
      const { port, output } = await startCluster();
      expect(await nodesAnswering(port)).toEqual(new Set([PRIMARY, WORKER]));
      const nodes = await db!.sql<{ node_id: string }[]>`SELECT node_id FROM nodes ORDER BY node_id`;
      expect(nodes.map((n) => n.node_id)).toEqual([PRIMARY, WORKER]);
      // The primary migrated; the worker did not run a migration of its own.
      expect(logLines(output()).filter((l) => l.msg.startsWith('applied migration')).every((l) => l.node === PRIMARY)).toBe(true);
    },
    90_000,
  );

  test(
    '40 clients on both processes order 300 units of a product with 60: exactly 60 sold, no oversell',
    async () => {
      const api = Api.forUrl(cluster!.base);
      const productId = await product(api, 'SCARCE-1', 60);
      const load = orderLoad(cluster!.port, productId, 40, 300);
      await load.finished();
      expect(load.accepted.size).toBe(300);
      expect([...load.byNode.keys()].sort()).toEqual([PRIMARY, WORKER]); // both processes took orders
      expect(await everyOrderFinal(load.accepted)).toEqual({ processed: 60, failed: 240 });
      const [level] = await db!.sql`SELECT on_hand, reserved FROM inventory_levels WHERE product_id = ${productId}`;
      expect(level).toEqual({ on_hand: 0, reserved: 0 });
      await expectStockConsistent(db!.sql);
    },
    90_000,
  );

  test(
    'a worker killed with kill -9 under load is started again; every accepted order ends',
    async () => {
      const { port, output } = cluster!;
      const productId = await product(Api.forUrl(cluster!.base), 'CRASH-W', 1_000_000);
      const load = orderLoad(port, productId, 8);
      await waitFor(() => (load.byNode.get(WORKER) ?? 0) >= 30, 20_000, 'the worker to take orders');
      const killed = latestWorkerPid(output())!;
      const [before] = await db!.sql<{ incarnation: string }[]>`SELECT incarnation FROM nodes WHERE node_id = ${WORKER}`;
      process.kill(killed, 'SIGKILL');
      const [held] = await db!.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM orders WHERE lease_owner = ${before!.incarnation} AND status IN ('pending', 'reserved')`;

      await waitFor(() => latestWorkerPid(output()) !== killed, 10_000, 'the primary to start the worker again');
      await waitFor(async () => (await nodesAnswering(port, 10)).has(WORKER), 30_000, 'the new worker to answer');
      const [after] = await db!.sql<{ incarnation: string }[]>`SELECT incarnation FROM nodes WHERE node_id = ${WORKER}`;
      expect(after!.incarnation).not.toBe(before!.incarnation);
      expect(logLines(output()).some((l) => l.msg === 'worker exited: starting it again' && l.worker === WORKER && l.signal === 'SIGKILL')).toBe(true);
      // Clients that lost their connection went to the primary; new ones reach the new worker too.
      const later = orderLoad(port, productId, 4, 40);
      await later.finished();
      expect(later.byNode.get(WORKER)).toBeGreaterThan(0);
      await load.stop();

      const accepted = new Set([...load.accepted, ...later.accepted]);
      expect(await everyOrderFinal(accepted)).toEqual({ processed: accepted.size });
      await expectStockConsistent(db!.sql);
      console.log(`worker kill -9: ${accepted.size} accepted (${JSON.stringify(Object.fromEntries(load.byNode))}), ${held!.n} open orders held by the killed worker`);
    },
    90_000,
  );

  test(
    'the primary killed with kill -9: the worker stops by itself; a new start on the same DATA_DIR finishes every accepted order',
    async () => {
      const { port, output, proc } = cluster!;
      const productId = await product(Api.forUrl(cluster!.base), 'CRASH-P', 1_000_000);
      const load = orderLoad(port, productId, 8);
      await waitFor(() => (load.byNode.get(PRIMARY) ?? 0) >= 30 && (load.byNode.get(WORKER) ?? 0) >= 30, 20_000, 'both processes to take orders');
      const worker = latestWorkerPid(output())!;
      const postmaster = postmasterPid()!;
      const killedAt = Date.now();
      proc.kill('SIGKILL');
      await proc.exited;

      const noticed = await waitFor(
        () => logLines(output()).find((l) => l.node === WORKER && l.msg === 'shutting down' && l.signal === 'primary gone'),
        5_000,
        'the worker to notice its primary is gone',
      );
      const noticedMs = (noticed as LogLine & { time: number }).time - killedAt;
      expect(noticedMs).toBeLessThan(2_000);
      await waitFor(() => !alive(worker), SHUTDOWN_TIMEOUT_MS + 5_000, 'the worker to exit');
      expect(logLines(output()).some((l) => l.node === WORKER && l.msg === 'stopped')).toBe(true); // its graceful shutdown ran to the end
      await load.stop();
      expect(alive(postmaster)).toBe(true); // the embedded server is orphaned, not stopped...

      await startCluster();
      expect(cluster!.output()).toContain(`adopted embedded Postgres already running (pid ${postmaster}`); // ...and adopted
      const counts = await everyOrderFinal(load.accepted);
      expect(counts).toEqual({ processed: load.accepted.size });
      await expectStockConsistent(db!.sql);
      console.log(`primary kill -9: the worker began its shutdown ${noticedMs} ms after; ${load.accepted.size} accepted, all processed after the next start`);
    },
    120_000,
  );

  test(
    'SIGTERM under load: the worker stops first, then the primary, then the embedded server; every process exits 0, nothing accepted is lost',
    async () => {
      const { port, output, proc } = cluster!;
      const productId = await product(Api.forUrl(cluster!.base), 'STOP-1', 1_000_000);
      const load = orderLoad(port, productId, 8);
      await waitFor(() => (load.byNode.get(PRIMARY) ?? 0) >= 30 && (load.byNode.get(WORKER) ?? 0) >= 30, 20_000, 'both processes to take orders');
      const worker = latestWorkerPid(output())!;
      const postmaster = postmasterPid()!;
      proc.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      await load.stop();

      expect(alive(worker)).toBe(false);
      expect(alive(postmaster)).toBe(false);
      const lines = logLines(output());
      const at = (node: string, msg: string) => lines.findLastIndex((l) => l.node === node && l.msg === msg);
      expect(lines.findLast((l) => l.msg === 'worker stopped' && l.worker === WORKER)?.code).toBe(0);
      expect(at(WORKER, 'stopped')).toBeGreaterThan(at(WORKER, 'shutting down'));
      // The primary served alone while its worker drained, and stopped serving only after it was gone.
      expect(at(PRIMARY, 'HTTP server stopped')).toBeGreaterThan(at(WORKER, 'stopped'));

      await startCluster();
      const counts = await everyOrderFinal(load.accepted);
      expect(counts).toEqual({ processed: load.accepted.size });
      await expectStockConsistent(db!.sql);
    },
    120_000,
  );
});
