import pino from 'pino';
import { loadConfig, type Config } from '../../src/config.ts';
import type { Tokens } from '../../src/http/auth.ts';
import { buildService, type Service, type ServiceOptions } from '../../src/service.ts';
import { freshDatabase, type TestDatabase } from './cluster.ts';
import { waitFor } from './wait.ts';

export const tokens: Tokens = { admin: 'test-admin-token', client: 'test-client-token' };

export type TestService = {
  db: TestDatabase;
  service: Service;
  config: Config;
  api: Api;
  close(): Promise<void>;
};

/** A whole service on its own fresh database, driven through `app.handle` (no port). */
/** Fast, deterministic defaults for tests: payments always succeed at once; retries come quickly. */
export const testEnv: Record<string, string> = {
  NODE_ENV: 'test',
  ADMIN_TOKEN: tokens.admin,
  CLIENT_TOKEN: tokens.client,
  DATA_DIR: '.test-data/service',
  PAYMENT_LATENCY_MS: '0',
  PAYMENT_FAILURE_RATE: '0',
  PAYMENT_TIMEOUT_RATE: '0',
  PAYMENT_TIMEOUT_MS: '300',
  RETRY_BASE_MS: '20',
  RETRY_MAX_MS: '200',
  // A test's service stops well inside the 5 s hook timeout, whatever it was working on.
  SHUTDOWN_TIMEOUT_MS: '1000',
  LOG_LEVEL: 'silent',
};

/** No periodic job ticks on its own (a yearly schedule): for tests that move rows and time themselves. */
const never = '0 0 1 1 *';
export const quietJobs: Record<string, string> = {
  RETRY_SWEEP_CRON: never,
  LEASE_RESCUE_CRON: never,
  STUCK_SWEEP_CRON: never,
  RECONCILE_CRON: never,
  PRUNE_CRON: never,
  WAREHOUSE_SYNC_CRON: never,
  STATISTICS_CRON: never,
};

export async function startTestService(
  env: Record<string, string> = {},
  options: { upTo?: string; db?: TestDatabase; serviceOptions?: ServiceOptions; background?: boolean } = {},
): Promise<TestService> {
  const db = options.db ?? (await freshDatabase({ upTo: options.upTo }));
  const config = loadConfig({ ...testEnv, NODE_ID: `test-${Math.random().toString(36).slice(2, 10)}`, ...env });
  const service = await buildService(config, db, tokens, pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), options.serviceOptions);
  await service.start({ background: options.background ?? true });
  return {
    db,
    service,
    config,
    api: new Api((request) => service.app.handle(request)),
    async close() {
      await service.stop();
      if (!options.db) await db.drop();
    },
  };
}

export type Who = 'admin' | 'client' | 'anonymous' | string;
export type Reply<T = any> = { status: number; body: T; headers: Headers };

/** Small HTTP client for tests: JSON in, JSON (or problem+json) out. */
export class Api {
  constructor(private readonly handle: (request: Request) => Promise<Response>) {}

  static forUrl(base: string): Api {
    return new Api((request) => {
      const url = new URL(request.url);
      return fetch(new Request(`${base}${url.pathname}${url.search}`, request));
    });
  }

  async request<T = any>(method: string, path: string, options: { as?: Who; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const as = options.as ?? 'admin';
    if (as !== 'anonymous') headers.authorization = `Bearer ${as === 'admin' ? tokens.admin : as === 'client' ? tokens.client : as}`;
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await this.handle(new Request(`http://localhost${path}`, { method, headers, body }));
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  get<T = any>(path: string, as: Who = 'admin') {
    return this.request<T>('GET', path, { as });
  }
  post<T = any>(path: string, body?: unknown, as: Who = 'admin', headers?: Record<string, string>) {
    return this.request<T>('POST', path, { as, body, headers });
  }
  put<T = any>(path: string, body?: unknown, as: Who = 'admin') {
    return this.request<T>('PUT', path, { as, body });
  }
  patch<T = any>(path: string, body?: unknown, as: Who = 'admin') {
    return this.request<T>('PATCH', path, { as, body });
  }
  delete<T = any>(path: string, as: Who = 'admin') {
    return this.request<T>('DELETE', path, { as });
  }
}

let skuCounter = 0;
export function uniqueSku(prefix = 'SKU'): string {
  return `${prefix}-${Date.now().toString(36)}-${(skuCounter++).toString(36)}`.toUpperCase();
}

export async function createProduct(api: Api, overrides: Record<string, unknown> = {}) {
  const reply = await api.post('/api/v1/products', { sku: uniqueSku(), name: 'Test product', price: '10.00', initialStock: 0, ...overrides });
  if (reply.status !== 201) throw new Error(`could not create product: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body;
}

export async function placeOrder(api: Api, items: { productId: string; quantity: number }[], options: { customerId?: string; key?: string } = {}) {
  return api.post('/api/v1/orders', { customerId: options.customerId ?? 'customer-1', items }, 'client', options.key ? { 'idempotency-key': options.key } : undefined);
}

/** Waits until the order is in one of `statuses` (polling the API, as a client would). */
export function orderReaches(api: Api, id: string, statuses: string[], timeoutMs = 10_000) {
  return waitFor(async () => {
    const reply = await api.get(`/api/v1/orders/${id}`, 'client');
    if (statuses.includes(reply.body?.status)) return reply.body;
    throw new Error(`order ${id} is ${reply.body?.status}`);
  }, timeoutMs, `order ${id} to be ${statuses.join('/')}`);
}
