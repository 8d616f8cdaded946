import { afterAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawnService, type ServiceProcess } from './support/process.ts';
import { waitFor } from './support/wait.ts';

/**
 * `bun run start` with no DATABASE_URL: the service brings its own Postgres in DATA_DIR, and comes
 * back after `kill -9` of itself (the server is left running and adopted) or of both (a stale
 * postmaster.pid is cleared).
 */
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'stockroom-embedded-'));
await chmod(dataDir, 0o755); // as root, the server runs as "postgres", which must reach the directory
const env = { DATA_DIR: dataDir, ADMIN_TOKEN: 'adm-embedded', CLIENT_TOKEN: 'cli-embedded', DATABASE_URL: '' };
let current: ServiceProcess | undefined;

afterAll(async () => {
  if (current) {
    current.proc.kill('SIGTERM');
    await current.proc.exited;
  }
  await rm(dataDir, { recursive: true, force: true });
});

const postmasterPid = () => Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function createProduct(base: string, sku: string) {
  const reply = await fetch(`${base}/api/v1/products`, {
    method: 'POST',
    headers: { authorization: 'Bearer adm-embedded', 'content-type': 'application/json' },
    body: JSON.stringify({ sku, name: sku, price: '1.00', initialStock: 3 }),
  });
  expect(reply.status).toBe(201);
  return (await reply.json()) as { id: string };
}

describe('embedded Postgres', () => {
  test(
    'starts with no set-up, survives kill -9 of the service, then of the service and Postgres, and stops cleanly',
    async () => {
      current = await spawnService(env);
      const first = await createProduct(current.base, 'EMB-1');
      const docs = await fetch(`${current.base}/swagger`);
      expect(docs.status).toBe(200);
      const pgPid = postmasterPid();

      current.proc.kill('SIGKILL');
      await current.proc.exited;
      expect(alive(pgPid)).toBe(true); // the orphaned server is still there...
      current = await spawnService(env);
      expect(postmasterPid()).toBe(pgPid); // ...and was adopted
      expect((await fetch(`${current.base}/api/v1/products/${first.id}`)).status).toBe(200);
      await createProduct(current.base, 'EMB-2');

      current.proc.kill('SIGKILL');
      process.kill(pgPid, 'SIGKILL');
      await current.proc.exited;
      await waitFor(() => !alive(pgPid), 10_000, 'the killed postmaster to be gone');
      current = await spawnService(env); // stale postmaster.pid
      expect(postmasterPid()).not.toBe(pgPid);
      const list = await fetch(`${current.base}/api/v1/products?q=EMB`);
      const body = (await list.json()) as { items: { sku: string }[] };
      expect(body.items.map((p) => p.sku).sort()).toEqual(['EMB-1', 'EMB-2']);

      const lastPg = postmasterPid();
      current.proc.kill('SIGTERM');
      expect(await current.proc.exited).toBe(0);
      current = undefined;
      expect(alive(lastPg)).toBe(false); // a clean stop takes its Postgres with it
    },
    90_000,
  );
});
