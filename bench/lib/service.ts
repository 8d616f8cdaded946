import { spawn, type Subprocess } from 'bun';
import { readFileSync } from 'node:fs';
import { freePort, ROOT } from '../../tests/support/process.ts';

export type BenchTokens = { admin: string; client: string };

/** VmRSS / VmHWM of a process in MiB (Linux); undefined once it is gone. */
function memoryOf(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/**
 * The service under test as a child process (`bun bench/server.ts`), with its resident memory
 * sampled every 100 ms for as long as it runs. The peak is the larger of the highest sample and
 * the kernel's own high-water mark (VmHWM), read at the last sample before it stops.
 */
export class BenchService {
  private peakRssMb = 0;
  private hwmMb = 0;
  private lastRssMb = 0;
  private readonly sampler: ReturnType<typeof setInterval>;
  readonly startedAt = performance.now();
  healthyAt = 0;

  private constructor(
    readonly proc: Subprocess,
    readonly base: string,
    /** The bare Elysia app in the same process (bench/routes/framework.ts). */
    readonly frameworkBase: string,
    readonly tokens: BenchTokens,
    private readonly output: () => string,
  ) {
    this.sampler = setInterval(() => this.sample(), 100);
  }

  /** `workers`: the service's WORKERS; healthy once every process answers. */
  static async start(
    env: Record<string, string>,
    tokens: BenchTokens,
    options: { bunArgs?: string[]; timeoutMs?: number; workers?: number } = {},
  ): Promise<BenchService> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const workers = options.workers ?? 1;
    const port = await freePort();
    const frameworkPort = await freePort();
    let output = '';
    const proc = spawn(['bun', ...(options.bunArgs ?? []), 'bench/server.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        // As `bun run start` and the image run the service (README, Operations: memory).
        BUN_JSC_forceRAMSize: process.env.BUN_JSC_forceRAMSize ?? '268435456',
        HOST: '127.0.0.1',
        PORT: String(port),
        ADMIN_TOKEN: tokens.admin,
        CLIENT_TOKEN: tokens.client,
        WORKERS: String(workers),
        BENCH_FRAMEWORK_PORT: String(frameworkPort),
        ...env,
      },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      const reader = stream.getReader();
      const decoder = new TextDecoder();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) output = (output + decoder.decode(chunk.value)).slice(-20_000);
    };
    void collect(proc.stdout as ReadableStream<Uint8Array>);
    void collect(proc.stderr as ReadableStream<Uint8Array>);
    const service = new BenchService(proc, `http://127.0.0.1:${port}`, `http://127.0.0.1:${frameworkPort}`, tokens, () => output);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`bench service exited with ${proc.exitCode}:\n${output}`);
      if ((await service.nodesAnswering(workers === 1 ? 1 : 4 * workers)) === workers) break;
      if (Date.now() > deadline) {
        await service.kill();
        throw new Error(`bench service did not become healthy in ${timeoutMs} ms:\n${output}`);
      }
      await Bun.sleep(25);
    }
    service.healthyAt = performance.now();
    return service;
  }

  /**
   * The processes that answer `/health` over `tries` new connections (the kernel picks a process
   * per connection; a kept-alive one would ask the same process each time).
   */
  private async nodesAnswering(tries: number): Promise<number> {
    const nodes = new Set<string>();
    for (let i = 0; i < tries; i++) {
      const health = await fetch(`${this.base}/health`, { headers: { connection: 'close' } }).then(
        async (r) => (r.ok ? ((await r.json()) as { node: string }) : undefined),
        () => undefined,
      );
      if (health) nodes.add(health.node);
    }
    return nodes.size;
  }

  /** The first process (the primary when WORKERS > 1); CpuMeter adds its workers. */
  get pid(): number {
    return this.proc.pid;
  }

  memory() {
    this.sample();
    return { peakRssMb: Math.max(this.peakRssMb, this.hwmMb), lastRssMb: this.lastRssMb };
  }

  logTail(): string {
    return this.output().slice(-4000);
  }

  async api<T = any>(method: string, route: string, body?: unknown, as: keyof BenchTokens = 'admin'): Promise<T> {
    const response = await fetch(`${this.base}${route}`, {
      method,
      headers: { authorization: `Bearer ${this.tokens[as]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${route} answered ${response.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Graceful stop (SIGTERM: drain, hand back leases); SIGKILL after the deadline. */
  async stop(deadlineMs = 30_000): Promise<void> {
    this.sample();
    clearInterval(this.sampler);
    if (this.proc.exitCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), deadlineMs);
    await this.proc.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    clearInterval(this.sampler);
    this.proc.kill('SIGKILL');
    await this.proc.exited;
  }

  private sample() {
    const memory = memoryOf(this.proc.pid);
    if (!memory) return;
    this.lastRssMb = memory.rssMb;
    this.peakRssMb = Math.max(this.peakRssMb, memory.rssMb);
    this.hwmMb = Math.max(this.hwmMb, memory.hwmMb);
  }
}
