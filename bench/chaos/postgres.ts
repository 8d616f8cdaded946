import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded.ts';
import { processTree } from '../lib/cpu.ts';

/** The faults a chaos run can inflict on PostgreSQL. */
export type Faults = {
  /** `kill -9` of the server (the postmaster); its backends follow. */
  kill(): Promise<void>;
  /** Start it again after a kill; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Freeze every process of the server (SIGSTOP), as a stalled VM or `docker pause` would. */
  pause(): Promise<void>;
  resume(): Promise<void>;
};

export type ChaosPostgres = {
  serverUrl: string;
  kind: string;
  /** Undefined for a server chaos cannot control (DATABASE_URL without commands). */
  faults: Faults | undefined;
  fresh(name: string): Promise<string>;
  close(): Promise<void>;
};

/** Commands a user gives to fault their own server, e.g. `docker kill -s KILL db` / `docker start db`. */
export type FaultCommands = { kill?: string; start?: string; pause?: string; resume?: string };

function shell(command: string) {
  const result = spawnSync('sh', ['-c', command], { stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`"${command}" exited with ${result.status}`);
}

/** The postmaster and its children (each PostgreSQL backend runs in a session of its own). */
function signalServer(postmaster: number, signal: NodeJS.Signals) {
  for (const pid of processTree(postmaster)) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

async function waitUntilUp(url: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const probe = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await probe`SELECT 1`;
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await Bun.sleep(100);
    } finally {
      await probe.end({ timeout: 0 });
    }
  }
}

/**
 * DATABASE_URL (faulted through the given commands, if any), or an embedded server in a temporary
 * directory that chaos owns and can kill, restart and freeze itself.
 */
export async function chaosPostgres(databaseUrl: string | undefined, commands: FaultCommands): Promise<ChaosPostgres> {
  let serverUrl: string;
  let faults: Faults | undefined;
  let cleanup = async () => {};
  let kind: string;
  if (databaseUrl) {
    serverUrl = databaseUrl;
    kind = 'DATABASE_URL';
    if (commands.kill && commands.start && commands.pause && commands.resume) {
      const { kill, start, pause, resume } = commands as Required<FaultCommands>;
      faults = {
        kill: async () => shell(kill),
        start: async () => (shell(start), await waitUntilUp(serverUrl)),
        pause: async () => shell(pause),
        resume: async () => shell(resume),
      };
    }
  } else {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'stockroom-chaos-'));
    await chmod(dir, 0o755); // as root the server runs as `postgres`, which must reach it
    let server: EmbeddedPostgres = await startEmbeddedPostgres(dir);
    serverUrl = server.url;
    kind = 'embedded';
    faults = {
      kill: async () => void process.kill(server.pid, 'SIGKILL'),
      start: async () => {
        server = await startEmbeddedPostgres(dir);
        if (server.url !== serverUrl) throw new Error(`the restarted server moved to ${server.url}`);
        await waitUntilUp(serverUrl);
      },
      // The postmaster first (it forks no new backend while stopped), then every process it started.
      pause: async () => signalServer(server.pid, 'SIGSTOP'),
      resume: async () => signalServer(server.pid, 'SIGCONT'),
    };
    cleanup = async () => {
      signalServer(server.pid, 'SIGCONT');
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  return {
    serverUrl,
    kind,
    faults,
    async fresh(name: string) {
      const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.unsafe(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    close: () => cleanup(),
  };
}
