import { spawn, spawnSync } from 'bun';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../tests/support/process.ts';
import type { ScenarioJson } from './baseline-figures.ts';
import { benchInterface, type BenchInterface } from './baseline-plan.ts';

/** The processes `--baseline` starts: git, the base tree's install, and each side's own bench. */

/** Runs a command to its end and returns what it printed; throws with its stderr when it fails. */
function capture(cmd: string[], cwd: string): string {
  const done = spawnSync(cmd, { cwd, stdout: 'pipe', stderr: 'pipe' });
  if (done.exitCode !== 0) throw new Error(`${cmd.join(' ')} (in ${cwd}) failed with ${done.exitCode}: ${done.stderr.toString().trim()}`);
  return done.stdout.toString();
}

const git = (...args: string[]) => capture(['git', ...args], ROOT).trim();

/** The commit a ref names, so the JSON records what was measured even if the ref moves. */
export function resolveCommit(ref: string): string {
  try {
    return git('rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`);
  } catch {
    throw new Error(`"${ref}" names no commit of this repository`);
  }
}
export const headCommit = () => git('rev-parse', 'HEAD');
// Untracked files are left out: a new module changes the code only through a tracked file that imports it,
// and an earlier run's results would otherwise mark every later run.
export const hasUncommittedChanges = () => git('status', '--porcelain', '--untracked-files=no').length > 0;

async function writeLines(stream: ReadableStream<Uint8Array>, prefix: string): Promise<void> {
  const decoder = new TextDecoder();
  let pending = '';
  const reader = stream.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    const lines = (pending + decoder.decode(chunk.value, { stream: true })).split('\n');
    pending = lines.pop()!;
    for (const line of lines) process.stderr.write(`${prefix} ${line}\n`);
  }
  if (pending) process.stderr.write(`${prefix} ${pending}\n`);
}

/** Runs a command with all its output on stderr, each line behind `prefix`; resolves to its exit code. */
async function runPrefixed(cmd: string[], cwd: string, prefix: string): Promise<number> {
  const proc = spawn(cmd, { cwd, stdout: 'pipe', stderr: 'pipe' });
  await Promise.all([writeLines(proc.stdout, prefix), writeLines(proc.stderr, prefix)]);
  return await proc.exited;
}

export type BaseTree = { dir: string; remove(): Promise<void> };

/** The commit checked out into a temporary worktree and installed; `remove` deletes both the files and git's record of it. */
export async function checkoutBase(commit: string): Promise<BaseTree> {
  const parent = await mkdtemp(path.join(os.tmpdir(), 'stockroom-baseline-'));
  // As root the base's embedded PostgreSQL runs its binaries as `postgres`, from inside this directory.
  await chmod(parent, 0o755);
  const dir = path.join(parent, 'tree');
  const remove = async () => {
    try {
      git('worktree', 'remove', '--force', dir);
    } catch {
      // Half made or already gone: delete what is there and let git forget the rest.
      await rm(dir, { recursive: true, force: true });
      git('worktree', 'prune');
    }
    await rm(parent, { recursive: true, force: true });
  };
  try {
    git('worktree', 'add', '--detach', dir, commit);
    const installed = await runPrefixed(['bun', 'install', '--frozen-lockfile'], dir, '[base]');
    if (installed !== 0) throw new Error(`bun install --frozen-lockfile in the base tree failed with ${installed}`);
  } catch (error) {
    await remove();
    throw error;
  }
  return { dir, remove };
}

/** What a tree's own bench can do, from its `bun run bench --help`. */
export function readInterface(dir: string): BenchInterface {
  try {
    return benchInterface(capture(['bun', 'run', 'bench', '--help'], dir));
  } catch (error) {
    throw new Error(`cannot tell what the bench in ${dir} can do: ${(error as Error).message}`);
  }
}

/** The fields of a run's JSON the comparison keeps (bench/run.ts writes more). */
export type RunJson = { startedAt?: string; command?: string; machine?: unknown; scenarios?: Record<string, ScenarioJson> };

/**
 * One scenario by a tree's own `bun run bench`, its output prefixed; the JSON it wrote, or null
 * when it wrote none. A failed check (exit 1) still leaves its JSON: it is a finding, not an error.
 */
export async function runScenario(dir: string, prefix: string, scenario: string, settings: string[]): Promise<{ exitCode: number; json: RunJson | null }> {
  const out = await mkdtemp(path.join(os.tmpdir(), 'stockroom-baseline-out-'));
  try {
    const exitCode = await runPrefixed(['bun', 'run', 'bench', '--scenarios', scenario, '--out', out, ...settings], dir, prefix);
    const files = (await readdir(out)).filter((f) => f.endsWith('.json'));
    const json = files.length === 1 ? (JSON.parse(await readFile(path.join(out, files[0]!), 'utf8')) as RunJson) : null;
    return { exitCode, json };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
