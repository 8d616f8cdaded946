import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { BenchPostgres } from './lib/database.ts';
import { BenchService } from './lib/service.ts';

/**
 * What bad input costs: 100 hostile requests (4 at a time) against a service that is serving
 * innocent clients (4 loops of order + product read) at the same moment, as the service starts by
 * default (NODE_ENV unset: development). Prints, per kind of hostile body, how long the hostile
 * requests took, how the innocent ones fared meanwhile, and the service's peak memory.
 *
 *   bun bench/hostile-cost.ts
 *   HOSTILE_REQUESTS=10 bun bench/hostile-cost.ts     # fewer, for code where each one freezes the process
 */
const HOSTILE = Number(process.env.HOSTILE_REQUESTS ?? 100);
const tokens = { admin: 'hostile-admin', client: 'hostile-client' };

/** The shape that froze the process: objects nested in a field the schema wants a string in. */
const deep = (levels: number) => `{"customerId":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)},"items":[]}`;
const kinds: Record<string, { path: string; body: string } | undefined> = {
  'none (innocent only)': undefined,
  '10,000 deep, 60 KB': { path: '/api/v1/orders', body: deep(10_000) },
  'string at the limit': { path: '/api/v1/categories', body: JSON.stringify({ name: 'x'.repeat(65_000) }) },
  'bad items at the limit': {
    path: '/api/v1/orders',
    body: JSON.stringify({ customerId: 'c', items: Array.from({ length: 1400 }, () => ({ productId: 'not-a-uuid', quantity: 'many' })) }),
  },
};

const percentile = (values: number[], p: number) => values.toSorted((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))] ?? 0;

async function timed(work: () => Promise<Response>): Promise<{ ms: number; status: number }> {
  const started = performance.now();
  const response = await work();
  await response.arrayBuffer();
  return { ms: performance.now() - started, status: response.status };
}

const postgres = await BenchPostgres.start(process.env.DATABASE_URL, () => {});
const db = await postgres.fresh('hostile');
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'stockroom-hostile-'));
const service = await BenchService.start({ DATABASE_URL: db.url, DATA_DIR: dataDir, NODE_ENV: 'development', LOG_LEVEL: 'fatal' }, tokens);
try {
  const product = await service.api<{ id: string }>('POST', '/api/v1/products', { sku: 'HOSTILE-1', name: 'p', price: '1.00', initialStock: 1_000_000_000 });
  const auth = (who: keyof typeof tokens) => ({ authorization: `Bearer ${tokens[who]}`, 'content-type': 'application/json' });
  const innocentOrder = JSON.stringify({ customerId: 'innocent', items: [{ productId: product.id, quantity: 1 }] });
  console.log('| hostile body | hostile: total s, p50 / max ms, statuses | innocent meanwhile: n, p50 / p99 / max ms, failed | peak RSS MiB |');
  console.log('|---|---|---|---|');
  for (const [name, hostile] of Object.entries(kinds)) {
    const innocent: { ms: number; status: number }[] = [];
    let running = true;
    const loops = Array.from({ length: 4 }, async () => {
      while (running) {
        innocent.push(await timed(() => fetch(`${service.base}/api/v1/orders`, { method: 'POST', headers: auth('client'), body: innocentOrder })));
        innocent.push(await timed(() => fetch(`${service.base}/api/v1/products/${product.id}`)));
      }
    });
    const started = performance.now();
    const results: { ms: number; status: number }[] = [];
    if (hostile) {
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next++ < HOSTILE) results.push(await timed(() => fetch(`${service.base}${hostile.path}`, { method: 'POST', headers: auth('admin'), body: hostile.body })));
        }),
      );
    } else await Bun.sleep(3000);
    const seconds = (performance.now() - started) / 1000;
    running = false;
    await Promise.all(loops);
    const statuses = [...new Set(results.map((r) => r.status))].join('/');
    const ms = (list: { ms: number }[], p: number) => percentile(list.map((r) => r.ms), p).toFixed(1);
    const hostileCell = hostile ? `${seconds.toFixed(2)} s, ${ms(results, 50)} / ${ms(results, 100)} ms, ${statuses}` : `(${seconds.toFixed(1)} s idle)`;
    const failed = innocent.filter((r) => r.status >= 300).length;
    console.log(`| ${name} | ${hostileCell} | ${innocent.length}, ${ms(innocent, 50)} / ${ms(innocent, 99)} / ${ms(innocent, 100)} ms, ${failed} | ${service.memory().peakRssMb.toFixed(0)} |`);
  }
} finally {
  await service.stop();
  await db.drop();
  await postgres.stop();
  await rm(dataDir, { recursive: true, force: true });
}
