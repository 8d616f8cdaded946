import { spawn } from 'bun';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from '../../tests/support/process.ts';
import type { CpuShare } from './cpu.ts';

export type LoaderName = 'wrk' | 'autocannon';

/** A closed-loop load: `connections` clients each POSTing one of `bodies` as soon as its last answer came. */
export type LoadSpec = {
  url: string;
  token: string;
  bodies: string[];
  connections: number;
  durationS: number;
  timeoutS: number;
};

export type LoadResult = {
  /** `flow`: the holds scenario's own two-step load (bench/lib/flow-load.ts). */
  loader: LoaderName | 'flow';
  /** Answers received (any status). */
  requests: number;
  /** 2xx answers (for the order routes: 202, stored). */
  ok: number;
  /** Per HTTP status (autocannon); wrk only tells 2xx/3xx from the rest. */
  statusCounts: Record<string, number> | null;
  /** Connection errors (refused, reset, timeouts). */
  errors: number;
  timeouts: number;
  durationS: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** CPU time the load generator itself used (user + system). */
  loaderCpuS: number;
  /** Where the machine's CPU went during the load (filled in by the scenario, which knows the processes). */
  cpu?: CpuShare;
};

export function chooseLoader(wanted: 'auto' | LoaderName): LoaderName {
  if (wanted !== 'auto') {
    if (wanted === 'wrk' && !Bun.which('wrk')) throw new Error('--loader wrk: wrk is not on the PATH');
    return wanted;
  }
  return Bun.which('wrk') ? 'wrk' : 'autocannon';
}

export async function runLoad(loader: LoaderName, spec: LoadSpec): Promise<LoadResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stockroom-load-'));
  try {
    return loader === 'wrk' ? await runWrk(dir, spec) : await runAutocannon(dir, spec);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a load generator to its end: what it printed, and the CPU time it used. */
export async function run(cmd: string[], env: Record<string, string> = {}): Promise<{ stdout: string; cpuS: number }> {
  const proc = spawn(cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'pipe' });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${cmd[0]} exited with ${code}: ${stderr.slice(-2000)}`);
  const usage = proc.resourceUsage();
  return { stdout, cpuS: usage ? Number(usage.cpuTime.total) / 1e6 : 0 };
}

async function runAutocannon(dir: string, spec: LoadSpec): Promise<LoadResult> {
  const file = path.join(dir, 'spec.json');
  await writeFile(file, JSON.stringify(spec));
  // autocannon runs under Bun (here faster than under Node 20): nothing to install but `bun install`.
  const { stdout, cpuS } = await run(['bun', path.join(import.meta.dir, 'autocannon-load.ts'), file]);
  return { ...(JSON.parse(stdout.trim().split('\n').at(-1)!) as Omit<LoadResult, 'loaderCpuS'>), loaderCpuS: cpuS };
}

type WrkSummary = {
  requests: number;
  durationUs: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { p50: number; p95: number; p99: number; max: number; mean: number };
};

async function runWrk(dir: string, spec: LoadSpec): Promise<LoadResult> {
  const bodies = path.join(dir, 'bodies.txt');
  await writeFile(bodies, spec.bodies.join('\n') + '\n');
  // One thread: on a small machine the load generator should take as little CPU as it can.
  const { stdout, cpuS } = await run(
    ['wrk', '-t1', `-c${spec.connections}`, `-d${spec.durationS}s`, `--timeout`, `${spec.timeoutS}s`, '-s', path.join(import.meta.dir, 'wrk.lua'), spec.url],
    { BENCH_BODIES: bodies, BENCH_TOKEN: spec.token },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const summary = JSON.parse(line.slice('BENCH_JSON '.length)) as WrkSummary;
  const ms = (us: number) => us / 1000;
  const { errors } = summary;
  return {
    loader: 'wrk',
    requests: summary.requests,
    ok: summary.requests - errors.status,
    statusCounts: null,
    errors: errors.connect + errors.read + errors.write + errors.timeout,
    timeouts: errors.timeout,
    durationS: summary.durationUs / 1e6,
    latencyMs: {
      p50: ms(summary.latencyUs.p50),
      p95: ms(summary.latencyUs.p95),
      p99: ms(summary.latencyUs.p99),
      max: ms(summary.latencyUs.max),
      mean: ms(summary.latencyUs.mean),
    },
    loaderCpuS: cpuS,
  };
}
