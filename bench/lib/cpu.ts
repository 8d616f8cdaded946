import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ: what /proc reports CPU time in, on every Linux this runs on

/** CPU time (user + system, seconds) of the processes, read from /proc; gone processes count 0. */
function cpuSecondsOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // After the command name (which may hold spaces) come: state ppid … utime(14) stime(15).
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks / TICKS_PER_S;
}

/**
 * A process and its direct children, the process first: the postmaster and its backends, or the
 * service and its workers (WORKERS > 1).
 */
export function processTree(rootPid: number): number[] {
  const pids = [rootPid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === rootPid) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Busy and total CPU time of the whole machine, in seconds (first line of /proc/stat). */
function machineSeconds(): { busy: number; total: number } {
  const values = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = values[3]! + (values[4] ?? 0); // idle + iowait
  return { busy: (total - idle) / TICKS_PER_S, total: total / TICKS_PER_S };
}

export type CpuShare = {
  /** Cores used on average over the interval (1.0 = one core fully busy). */
  service: number;
  postgres: number | null;
  loader: number | null;
  /** Everything else on the machine (other users' work included). */
  other: number;
  idle: number;
  seconds: number;
};

/**
 * Where the machine's CPU went between `start()` and `stop()`: the service's processes (with
 * WORKERS > 1 the primary and its workers, summed; a worker started during the load is not
 * counted), the
 * PostgreSQL server (when it runs here), the load generator (its own CPU time, reported after it
 * exits) and the rest of the machine.
 */
export class CpuMeter {
  private readonly wall = performance.now();
  private readonly machine = machineSeconds();
  private readonly servicePids: number[];
  private readonly postgresPids: number[];
  private readonly service0: number;
  private readonly postgres0: number;

  constructor(servicePid: number, postmasterPid: number | null) {
    this.servicePids = processTree(servicePid);
    this.postgresPids = postmasterPid === null ? [] : processTree(postmasterPid);
    this.service0 = cpuSecondsOf(this.servicePids);
    this.postgres0 = cpuSecondsOf(this.postgresPids);
  }

  stop(loaderCpuS: number | null): CpuShare {
    const seconds = (performance.now() - this.wall) / 1000;
    const machine = machineSeconds();
    const cores = (machine.total - this.machine.total) / seconds;
    const busy = (machine.busy - this.machine.busy) / seconds;
    const service = (cpuSecondsOf(this.servicePids) - this.service0) / seconds;
    const postgres = this.postgresPids.length === 0 ? null : (cpuSecondsOf(this.postgresPids) - this.postgres0) / seconds;
    const loader = loaderCpuS === null ? null : loaderCpuS / seconds;
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      service: round(service),
      postgres: postgres === null ? null : round(postgres),
      loader: loader === null ? null : round(loader),
      other: round(Math.max(0, busy - service - (postgres ?? 0) - (loader ?? 0))),
      idle: round(Math.max(0, cores - busy)),
      seconds: round(seconds),
    };
  }
}
