import type { Server } from 'bun';
import { json, readJsonObject } from '../../lib/http-json.ts';
import { WarehouseStock, failedPage, warehouseFailures, type WarehouseFailure } from './simulator.ts';
import type { StockCount } from './client.ts';

/**
 * The warehouse simulator as a standalone HTTP service (`bun run warehouse`), speaking the
 * protocol of API.md (`GET /stock?limit=&cursor=`), plus a control API:
 *
 *   PUT  /control/stock     { "items": [{ "sku": "TEE-1", "onHand": 12, "location"?: "STORE-1" }] }   set counts
 *   GET  /control/stock     every count
 *   POST /control/drift     { "rate": 0.1, "maxStep": 3 }                       drift now
 *   POST /control/fail      { "mode": "down" | "slow" | "malformed" | "unknown-sku", "count": 1, "after": 0 }
 */
export type WarehouseServer = { server: Server<undefined>; url: string; stock: WarehouseStock; stop(): Promise<void> };


export function createWarehouseServer(options: { port?: number; hostname?: string; slowMs?: number; stock?: WarehouseStock }): WarehouseServer {
  const stock = options.stock ?? new WarehouseStock();
  const server = Bun.serve({
    port: options.port ?? 4100,
    hostname: options.hostname ?? '127.0.0.1',
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (url.pathname === '/health') return json(200, { status: 'ok' });
      if (url.pathname === '/stock' && request.method === 'GET') {
        const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') ?? 100) || 100));
        const failure = stock.nextFailure();
        if (failure === 'down') return json(503, { error: 'warehouse is down' });
        if (failure === 'slow') await Bun.sleep(options.slowMs ?? 30_000);
        const page = stock.page(url.searchParams.get('cursor'), limit);
        return json(200, failure === 'malformed' || failure === 'unknown-sku' ? failedPage(failure, page) : page);
      }
      if (url.pathname === '/control/stock' && request.method === 'GET') return json(200, { items: stock.all() });
      if (url.pathname === '/control/stock' && request.method === 'PUT') {
        const body = (await readJsonObject(request)) as { items?: StockCount[] } | undefined;
        if (!body || !Array.isArray(body.items)) return json(422, { error: 'body must be { items: [{ sku, onHand, location? }] }' });
        stock.set(body.items);
        return json(200, { size: stock.size });
      }
      if (url.pathname === '/control/drift' && request.method === 'POST') {
        const body = ((await readJsonObject(request)) ?? {}) as { rate?: number; maxStep?: number };
        return json(200, { changed: stock.drift(body.rate ?? 0.1, body.maxStep ?? 3) });
      }
      if (url.pathname === '/control/fail' && request.method === 'POST') {
        const body = ((await readJsonObject(request)) ?? {}) as { mode?: WarehouseFailure; count?: number; after?: number };
        if (!body.mode || !warehouseFailures.includes(body.mode)) return json(422, { error: `mode must be one of ${warehouseFailures.join(', ')}` });
        stock.failNext(body.mode, body.count ?? 1, body.after ?? 0);
        return json(200, { ok: true });
      }
      return json(404, { error: 'not found' });
    },
  });
  return { server, url: `http://${server.hostname}:${server.port}`, stock, stop: () => server.stop(true) };
}
