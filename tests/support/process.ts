import { spawn, type Subprocess } from 'bun';
import path from 'node:path';
import { freePort } from '../../src/lib/net.ts';

export { freePort };

export const ROOT = path.resolve(import.meta.dir, '../..');

/**
 * For tests that kill service processes: a peer gone is seen within a second (heartbeats every
 * 200 ms, void after 1 s), retries come from 30 ms, and the retry sweep runs every second.
 */
export const fastRecoveryEnv: Record<string, string> = {
  RETRY_BASE_MS: '30',
  RETRY_MAX_MS: '200',
  HEARTBEAT_MS: '200',
  HEARTBEAT_TTL_MS: '1000',
  RETRY_SWEEP_CRON: '* * * * * *',
};

export type ServiceProcess = { proc: Subprocess; port: number; base: string; output: () => string };

export type SpawnOptions = {
  port?: number;
  timeoutMs?: number;
  /** Another copy of the service (the image built on the host), started with `command` there. */
  cwd?: string;
  command?: string[];
  /** Only PATH and HOME from this process's environment, as in a container. */
  cleanEnv?: boolean;
};

/** Runs `bun src/main.ts` as a child process (a real server on a real port). */
export async function spawnService(env: Record<string, string>, options: SpawnOptions = {}): Promise<ServiceProcess> {
  const port = options.port ?? (await freePort());
  let output = '';
  const inherited = options.cleanEnv ? { PATH: process.env.PATH, HOME: process.env.HOME } : process.env;
  const proc = spawn(options.command ?? ['bun', 'src/main.ts'], {
    cwd: options.cwd ?? ROOT,
    env: { ...inherited, NODE_ENV: 'test', LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) output += decoder.decode(chunk.value);
  };
  void collect(proc.stdout as ReadableStream<Uint8Array>);
  void collect(proc.stderr as ReadableStream<Uint8Array>);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`service exited with ${proc.exitCode}:\n${output}`);
    try {
      const health = await fetch(`${base}/health`);
      if (health.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`service did not become healthy:\n${output}`);
    }
    await Bun.sleep(50);
  }
  return { proc, port, base, output: () => output };
}
