import path from 'node:path';
import { Cron } from 'croner';
import { allocationStrategies, type AllocationStrategy } from './actors/allocation.ts';
import { PIPELINE_DEPTH } from './actors/stock-actors.ts';
import { DB_DEFAULTS, type ConnectOptions } from './db/client.ts';
import { parseCidr, type Cidr } from './http/client-ip.ts';
import type { Role } from './http/credentials.ts';
import type { RatePolicy } from './http/rate-limit.ts';

/** Latency of the simulated payment provider: a fixed value or a uniform range, in ms. */
export type LatencyRange = { min: number; max: number };

export type Config = {
  env: 'production' | 'development' | 'test';
  /** Service processes sharing the port (src/cluster.ts): this one and WORKERS - 1 it starts. */
  workers: number;
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  clientToken: string | undefined;
  bodyLimitBytes: number;
  bodyReadTimeoutMs: number;
  dbPoolMax: number;
  /** Server-side bound on one statement (migrations and other long work lift it for themselves). */
  dbStatementTimeoutMs: number;
  /** A transaction left idle this long (a frozen or wedged process) is ended by the server, locks and all. */
  dbIdleTransactionTimeoutMs: number;
  dbConnectTimeoutMs: number;
  /** Longest a request may take before it is answered 503 (its work may still finish). */
  requestTimeoutMs: number;
  /** The same for `POST /api/v1/warehouse/sync`, which runs a whole synchronisation. */
  syncRequestTimeoutMs: number;
  /** Longest a periodic job's tick waits for its run before the scheduler moves on. */
  jobTimeoutMs: number;
  orderMaxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  paymentMaxAttempts: number;
  paymentFailureRate: number;
  paymentTimeoutRate: number;
  paymentLatencyMs: LatencyRange;
  paymentTimeoutMs: number;
  paymentConcurrency: number;
  paymentUrl: string | undefined;
  warehouseUrl: string | undefined;
  warehouseSyncCron: string;
  paymentCurrency: string;
  mailboxMaxDepth: number;
  /** Stock batches decided from memory in flight at once (0: every batch reads its rows under the locks). */
  stockPipelineDepth: number;
  leaseMs: number;
  heartbeatMs: number;
  heartbeatTtlMs: number;
  retrySweepCron: string;
  leaseRescueCron: string;
  stuckSweepCron: string;
  stuckReservationMs: number;
  reconcileCron: string;
  /** How long the provider is asked about an order that may owe a refund before a person must look. */
  reconcileHorizonMs: number;
  reconcileRetryBaseMs: number;
  reconcileRetryMaxMs: number;
  pruneCron: string;
  /** How often the tables that grew are analysed (src/db/statistics.ts). */
  statisticsCron: string;
  idempotencyTtlMs: number;
  eventsRetentionMs: number;
  jobHistoryRetentionMs: number;
  warehouseTimeoutMs: number;
  warehousePageSize: number;
  warehouseDriftRate: number;
  warehouseDriftIntervalMs: number;
  pipelineMaxInFlight: number;
  /** Where a line's units come from when a product is stocked at several locations (API.md). */
  allocationStrategy: AllocationStrategy;
  /** How often each process looks for holds whose time is up (at most 1 s: their stock is on sale again within 2 s of expiry). */
  holdExpiryPollMs: number;
  shutdownTimeoutMs: number;
  nodeId: string | undefined;
  logLevel: string;
  /** How often each process looks for API keys created or revoked elsewhere (at most 1 s: the revocation promise). */
  apiKeyRefreshMs: number;
  customerJwtSecret: string | undefined;
  customerJwksUrl: string | undefined;
  customerJwtClockSkewSeconds: number;
  corsOrigins: string[];
  trustedProxies: Cidr[];
  /** Per role, and `anonymous` per client IP; `undefined`: not limited. */
  rateLimits: Record<Role | 'anonymous', RatePolicy | undefined>;
  webhooks: WebhookConfig;
};

/** Webhook delivery (README, "Webhooks"). */
export type WebhookConfig = {
  /** Deliveries to loopback, private, link-local and other special addresses: only for local development and tests. */
  allowPrivate: boolean;
  /** One attempt, answer included. */
  timeoutMs: number;
  dnsTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** How long a delivery is retried, and how long a subscription may fail without a success before it is disabled. */
  retryWindowMs: number;
  /** Deliveries one process sends at once to one subscription. */
  maxInFlight: number;
  pollMs: number;
  /** Outbox rows read per step of the enqueuer. */
  enqueueBatch: number;
  /** How much of an answer's body is read and kept in the delivery log. */
  excerptBytes: number;
  deliveryRetentionMs: number;
  /** The longest the outbox keeps an event for a subscription that has not taken it (a disabled one). */
  eventHoldMaxMs: number;
};

/** Below REQUEST_TIMEOUT_MS's default: a stalled upload is a 408, not the request deadline's 503. */
const DEFAULT_BODY_READ_TIMEOUT_MS = 3_000;

class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number, errors: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    errors.push(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
    return fallback;
  }
  return value;
}

function rate(env: Env, name: string, fallback: number, errors: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    errors.push(`${name} must be a number between 0 and 1, got "${raw}"`);
    return fallback;
  }
  return value;
}

function latency(env: Env, name: string, fallback: LatencyRange, errors: string[]): LatencyRange {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const match = /^(\d+)(?:-(\d+))?$/.exec(raw.trim());
  if (!match) {
    errors.push(`${name} must be "N" or "MIN-MAX" in milliseconds, got "${raw}"`);
    return fallback;
  }
  const min = Number(match[1]);
  const max = match[2] === undefined ? min : Number(match[2]);
  if (max < min) {
    errors.push(`${name}: MAX must not be below MIN, got "${raw}"`);
    return fallback;
  }
  return { min, max };
}

function url(env: Env, name: string, errors: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  try {
    new URL(raw);
    return raw;
  } catch {
    errors.push(`${name} must be a URL, got "${raw}"`);
    return undefined;
  }
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Origins as browsers send them: scheme, host and port, no trailing slash. */
function origins(env: Env, name: string, errors: string[]): string[] {
  return list(env, name).map((origin) => origin.replace(/\/$/, '')).filter((origin) => {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      // reported below
    }
    if (parsed && parsed.origin === origin && /^https?:$/.test(parsed.protocol)) return true;
    errors.push(`${name}: "${origin}" is not an origin such as https://shop.example (scheme, host and port only; "*" is not accepted)`);
    return false;
  });
}

function cidrs(env: Env, name: string, errors: string[]): Cidr[] {
  return list(env, name).flatMap((text) => {
    const cidr = parseCidr(text);
    if (typeof cidr === 'string') {
      errors.push(`${name}: ${cidr}`);
      return [];
    }
    return [cidr];
  });
}

/** `<quota>/<window>s` (e.g. `100/1s`, `6000/60s`), or `off`. */
function ratePolicy(env: Env, name: string, policy: string, fallback: string, errors: string[]): RatePolicy | undefined {
  const raw = env[name] || fallback;
  if (raw === 'off') return undefined;
  const match = /^(\d{1,9})\/(\d{1,6})s$/.exec(raw.trim());
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) {
    errors.push(`${name} must be "<requests>/<seconds>s" (e.g. "100/1s") or "off", got "${raw}"`);
    return undefined;
  }
  return { name: policy, quota: Number(match[1]), windowSeconds: Number(match[2]) };
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T, errors: string[]): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if ((values as readonly string[]).includes(raw)) return raw as T;
  errors.push(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
  return fallback;
}

function bool(env: Env, name: string, fallback: boolean, errors: string[]): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === 'false') return raw === 'true';
  errors.push(`${name} must be "true" or "false", got "${raw}"`);
  return fallback;
}

const DAY_MS = 86_400_000;

function webhookConfig(env: Env, errors: string[]): WebhookConfig {
  return {
    allowPrivate: bool(env, 'WEBHOOK_ALLOW_PRIVATE', false, errors),
    timeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000, errors),
    dnsTimeoutMs: int(env, 'WEBHOOK_DNS_TIMEOUT_MS', 2_000, 100, 60_000, errors),
    retryBaseMs: int(env, 'WEBHOOK_RETRY_BASE_MS', 5_000, 10, 3_600_000, errors),
    retryMaxMs: int(env, 'WEBHOOK_RETRY_MAX_MS', 3_600_000, 1_000, DAY_MS, errors),
    // API.md promises retries for at least 24 h.
    retryWindowMs: int(env, 'WEBHOOK_RETRY_WINDOW_MS', DAY_MS, DAY_MS, 30 * DAY_MS, errors),
    maxInFlight: int(env, 'WEBHOOK_MAX_IN_FLIGHT', 256, 1, 10_000, errors),
    pollMs: int(env, 'WEBHOOK_POLL_MS', 100, 10, 60_000, errors),
    enqueueBatch: int(env, 'WEBHOOK_ENQUEUE_BATCH', 200, 1, 10_000, errors),
    excerptBytes: int(env, 'WEBHOOK_RESPONSE_EXCERPT_BYTES', 1_024, 0, 65_536, errors),
    deliveryRetentionMs: int(env, 'WEBHOOK_DELIVERY_RETENTION_MS', 3 * DAY_MS, 60_000, 365 * DAY_MS, errors),
    eventHoldMaxMs: int(env, 'WEBHOOK_EVENT_HOLD_MAX_MS', 7 * DAY_MS, 60_000, 365 * DAY_MS, errors),
  };
}

function secret(env: Env, name: string, errors: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (Buffer.byteLength(raw) < 32) errors.push(`${name} must be at least 32 bytes (HS256 needs a 256-bit key)`);
  return raw;
}

/** Parses the environment once; every problem is reported together, then start-up stops. */
export function loadConfig(env: Env = process.env): Config {
  const errors: string[] = [];
  const nodeEnv = env.NODE_ENV === 'production' ? 'production' : env.NODE_ENV === 'test' ? 'test' : 'development';
  const config: Config = {
    env: nodeEnv,
    workers: int(env, 'WORKERS', 1, 1, 64, errors),
    port: int(env, 'PORT', 3000, 0, 65535, errors),
    host: env.HOST || '0.0.0.0',
    databaseUrl: url(env, 'DATABASE_URL', errors),
    dataDir: path.resolve(env.DATA_DIR || '.data'),
    adminToken: env.ADMIN_TOKEN || undefined,
    clientToken: env.CLIENT_TOKEN || undefined,
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024, errors),
    // Below the server's idle timeout (server.ts), so a stalled upload gets its 408 before Bun drops it.
    bodyReadTimeoutMs: int(env, 'BODY_READ_TIMEOUT_MS', DEFAULT_BODY_READ_TIMEOUT_MS, 100, 25_000, errors),
    dbPoolMax: int(env, 'DB_POOL_MAX', DB_DEFAULTS.poolMax, 2, 500, errors),
    dbStatementTimeoutMs: int(env, 'DB_STATEMENT_TIMEOUT_MS', DB_DEFAULTS.statementTimeoutMs, 100, 3_600_000, errors),
    dbIdleTransactionTimeoutMs: int(env, 'DB_IDLE_TRANSACTION_TIMEOUT_MS', DB_DEFAULTS.idleTransactionTimeoutMs, 100, 3_600_000, errors),
    dbConnectTimeoutMs: int(env, 'DB_CONNECT_TIMEOUT_MS', DB_DEFAULTS.connectTimeoutMs, 100, 600_000, errors),
    requestTimeoutMs: int(env, 'REQUEST_TIMEOUT_MS', 4_000, 100, 600_000, errors),
    syncRequestTimeoutMs: int(env, 'SYNC_REQUEST_TIMEOUT_MS', 300_000, 100, 3_600_000, errors),
    jobTimeoutMs: int(env, 'JOB_TIMEOUT_MS', 60_000, 100, 3_600_000, errors),
    orderMaxAttempts: int(env, 'ORDER_MAX_ATTEMPTS', 3, 1, 100, errors),
    retryBaseMs: int(env, 'RETRY_BASE_MS', 1000, 1, 3_600_000, errors),
    retryMaxMs: int(env, 'RETRY_MAX_MS', 5 * 60_000, 1, 86_400_000, errors),
    paymentMaxAttempts: int(env, 'PAYMENT_MAX_ATTEMPTS', 3, 1, 100, errors),
    paymentFailureRate: rate(env, 'PAYMENT_FAILURE_RATE', 0.1, errors),
    paymentTimeoutRate: rate(env, 'PAYMENT_TIMEOUT_RATE', 0.02, errors),
    paymentLatencyMs: latency(env, 'PAYMENT_LATENCY_MS', { min: 20, max: 200 }, errors),
    paymentTimeoutMs: int(env, 'PAYMENT_TIMEOUT_MS', 2000, 1, 600_000, errors),
    paymentConcurrency: int(env, 'PAYMENT_CONCURRENCY', 1024, 1, 100_000, errors),
    paymentUrl: url(env, 'PAYMENT_URL', errors),
    warehouseUrl: url(env, 'WAREHOUSE_URL', errors),
    warehouseSyncCron: env.WAREHOUSE_SYNC_CRON || '*/5 * * * *',
    paymentCurrency: env.PAYMENT_CURRENCY || 'USD',
    mailboxMaxDepth: int(env, 'MAILBOX_MAX_DEPTH', 10_000, 1, 10_000_000, errors),
    stockPipelineDepth: int(env, 'STOCK_PIPELINE_DEPTH', PIPELINE_DEPTH, 0, 64, errors),
    leaseMs: int(env, 'LEASE_MS', 60_000, 100, 86_400_000, errors),
    heartbeatMs: int(env, 'HEARTBEAT_MS', 2_000, 10, 600_000, errors),
    heartbeatTtlMs: int(env, 'HEARTBEAT_TTL_MS', 10_000, 50, 3_600_000, errors),
    retrySweepCron: env.RETRY_SWEEP_CRON || '*/5 * * * * *',
    leaseRescueCron: env.LEASE_RESCUE_CRON || '*/15 * * * * *',
    stuckSweepCron: env.STUCK_SWEEP_CRON || '30 * * * * *',
    stuckReservationMs: int(env, 'STUCK_RESERVATION_MS', 30 * 60_000, 1_000, 30 * 86_400_000, errors),
    reconcileCron: env.RECONCILE_CRON || '*/10 * * * * *',
    reconcileHorizonMs: int(env, 'RECONCILE_HORIZON_MS', 86_400_000, 1_000, 30 * 86_400_000, errors),
    reconcileRetryBaseMs: int(env, 'RECONCILE_RETRY_BASE_MS', 5_000, 10, 3_600_000, errors),
    reconcileRetryMaxMs: int(env, 'RECONCILE_RETRY_MAX_MS', 3_600_000, 10, 86_400_000, errors),
    pruneCron: env.PRUNE_CRON || '0 */10 * * * *',
    statisticsCron: env.STATISTICS_CRON || '*/5 * * * * *',
    idempotencyTtlMs: int(env, 'IDEMPOTENCY_TTL_MS', 86_400_000, 86_400_000, 365 * 86_400_000, errors),
    eventsRetentionMs: int(env, 'EVENTS_RETENTION_MS', 3 * 86_400_000, 60_000, 365 * 86_400_000, errors),
    jobHistoryRetentionMs: int(env, 'JOB_HISTORY_RETENTION_MS', 86_400_000, 60_000, 365 * 86_400_000, errors),
    warehouseTimeoutMs: int(env, 'WAREHOUSE_TIMEOUT_MS', 5_000, 1, 600_000, errors),
    warehousePageSize: int(env, 'WAREHOUSE_PAGE_SIZE', 500, 1, 1000, errors),
    warehouseDriftRate: rate(env, 'WAREHOUSE_DRIFT_RATE', 0.05, errors),
    warehouseDriftIntervalMs: int(env, 'WAREHOUSE_DRIFT_INTERVAL_MS', 60_000, 0, 86_400_000, errors),
    pipelineMaxInFlight: int(env, 'PIPELINE_MAX_IN_FLIGHT', 50_000, 1, 10_000_000, errors),
    allocationStrategy: oneOf(env, 'ALLOCATION_STRATEGY', allocationStrategies, 'fewest-splits', errors),
    holdExpiryPollMs: int(env, 'HOLD_EXPIRY_POLL_MS', 500, 10, 1000, errors),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000, errors),
    nodeId: env.NODE_ID || undefined,
    logLevel: env.LOG_LEVEL || 'info',
    apiKeyRefreshMs: int(env, 'API_KEY_REFRESH_MS', 500, 50, 1000, errors),
    customerJwtSecret: secret(env, 'CUSTOMER_JWT_SECRET', errors),
    customerJwksUrl: url(env, 'CUSTOMER_JWKS_URL', errors),
    customerJwtClockSkewSeconds: int(env, 'CUSTOMER_JWT_CLOCK_SKEW_S', 30, 0, 300, errors),
    corsOrigins: origins(env, 'CORS_ORIGINS', errors),
    trustedProxies: cidrs(env, 'TRUSTED_PROXIES', errors),
    rateLimits: {
      admin: ratePolicy(env, 'RATE_LIMIT_ADMIN', 'admin', '10000/1s', errors),
      storefront: ratePolicy(env, 'RATE_LIMIT_STOREFRONT', 'storefront', '100000/1s', errors),
      warehouse: ratePolicy(env, 'RATE_LIMIT_WAREHOUSE', 'warehouse', '1000/1s', errors),
      'read-only': ratePolicy(env, 'RATE_LIMIT_READ_ONLY', 'read-only', '1000/1s', errors),
      customer: ratePolicy(env, 'RATE_LIMIT_CUSTOMER', 'customer', '20/1s', errors),
      anonymous: ratePolicy(env, 'RATE_LIMIT_ANONYMOUS', 'anonymous', '1000/1s', errors),
    },
    webhooks: webhookConfig(env, errors),
  };
  if (nodeEnv === 'production' && (!config.adminToken || !config.clientToken)) {
    errors.push('ADMIN_TOKEN and CLIENT_TOKEN are required when NODE_ENV=production');
  }
  if (config.workers > 1 && process.platform !== 'linux') {
    errors.push(`WORKERS above 1 needs Linux: the processes share the port with SO_REUSEPORT, which ${process.platform} does not balance`);
  }
  if (config.heartbeatTtlMs <= config.heartbeatMs) errors.push('HEARTBEAT_TTL_MS must be longer than HEARTBEAT_MS');
  if (config.bodyReadTimeoutMs >= config.requestTimeoutMs) {
    errors.push('BODY_READ_TIMEOUT_MS must be shorter than REQUEST_TIMEOUT_MS (a stalled upload is a 408, before the request deadline)');
  }
  for (const name of ['WAREHOUSE_SYNC_CRON', 'RETRY_SWEEP_CRON', 'LEASE_RESCUE_CRON', 'STUCK_SWEEP_CRON', 'RECONCILE_CRON', 'PRUNE_CRON', 'STATISTICS_CRON'] as const) {
    const pattern = env[name];
    if (pattern) {
      try {
        new Cron(pattern, { paused: true }).stop();
      } catch (error) {
        errors.push(`${name} is not a cron pattern: ${(error as Error).message}`);
      }
    }
  }
  if (nodeEnv === 'production' && config.customerJwksUrl?.startsWith('http:')) {
    errors.push('CUSTOMER_JWKS_URL must be https when NODE_ENV=production (the keys decide who is a customer)');
  }
  if (config.webhooks.retryMaxMs < config.webhooks.retryBaseMs) errors.push('WEBHOOK_RETRY_MAX_MS must not be below WEBHOOK_RETRY_BASE_MS');
  if (config.webhooks.eventHoldMaxMs < config.eventsRetentionMs) {
    errors.push('WEBHOOK_EVENT_HOLD_MAX_MS must not be below EVENTS_RETENTION_MS (it only ever keeps events longer)');
  }
  if (config.adminToken && config.adminToken === config.clientToken) {
    errors.push('ADMIN_TOKEN and CLIENT_TOKEN must differ');
  }
  if (errors.length > 0) throw new ConfigError(`Invalid configuration:\n  - ${errors.join('\n  - ')}`);
  return config;
}

/** The pool settings of a process of this service (`max` and the name differ for scripts). */
export function poolOptions(config: Config, overrides: ConnectOptions = {}): ConnectOptions {
  return {
    max: config.dbPoolMax,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    idleTransactionTimeoutMs: config.dbIdleTransactionTimeoutMs,
    connectTimeoutMs: config.dbConnectTimeoutMs,
    ...overrides,
  };
}
