import path from 'node:path';
import { Cron } from 'croner';

/** Latency of the simulated payment provider: a fixed value or a uniform range, in ms. */
export type LatencyRange = { min: number; max: number };

export type Config = {
  env: 'production' | 'development' | 'test';
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  adminToken: string | undefined;
  clientToken: string | undefined;
  bodyLimitBytes: number;
  bodyReadTimeoutMs: number;
  dbPoolMax: number;
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
  leaseMs: number;
  heartbeatMs: number;
  heartbeatTtlMs: number;
  retrySweepCron: string;
  leaseRescueCron: string;
  stuckSweepCron: string;
  stuckReservationMs: number;
  reconcileCron: string;
  pruneCron: string;
  idempotencyTtlMs: number;
  eventsRetentionMs: number;
  jobHistoryRetentionMs: number;
  warehouseTimeoutMs: number;
  warehousePageSize: number;
  warehouseDriftRate: number;
  warehouseDriftIntervalMs: number;
  pipelineMaxInFlight: number;
  shutdownTimeoutMs: number;
  nodeId: string | undefined;
  logLevel: string;
};

export const DEFAULT_BODY_READ_TIMEOUT_MS = 10_000;

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

/** Parses the environment once; every problem is reported together, then start-up stops. */
export function loadConfig(env: Env = process.env): Config {
  const errors: string[] = [];
  const nodeEnv = env.NODE_ENV === 'production' ? 'production' : env.NODE_ENV === 'test' ? 'test' : 'development';
  const config: Config = {
    env: nodeEnv,
    port: int(env, 'PORT', 3000, 0, 65535, errors),
    host: env.HOST || '0.0.0.0',
    databaseUrl: url(env, 'DATABASE_URL', errors),
    dataDir: path.resolve(env.DATA_DIR || '.data'),
    adminToken: env.ADMIN_TOKEN || undefined,
    clientToken: env.CLIENT_TOKEN || undefined,
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024, errors),
    // Below the server's idle timeout (server.ts), so a stalled upload gets its 408 before Bun drops it.
    bodyReadTimeoutMs: int(env, 'BODY_READ_TIMEOUT_MS', DEFAULT_BODY_READ_TIMEOUT_MS, 100, 25_000, errors),
    dbPoolMax: int(env, 'DB_POOL_MAX', 16, 2, 500, errors),
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
    leaseMs: int(env, 'LEASE_MS', 60_000, 100, 86_400_000, errors),
    heartbeatMs: int(env, 'HEARTBEAT_MS', 2_000, 10, 600_000, errors),
    heartbeatTtlMs: int(env, 'HEARTBEAT_TTL_MS', 10_000, 50, 3_600_000, errors),
    retrySweepCron: env.RETRY_SWEEP_CRON || '*/5 * * * * *',
    leaseRescueCron: env.LEASE_RESCUE_CRON || '*/15 * * * * *',
    stuckSweepCron: env.STUCK_SWEEP_CRON || '30 * * * * *',
    stuckReservationMs: int(env, 'STUCK_RESERVATION_MS', 30 * 60_000, 1_000, 30 * 86_400_000, errors),
    reconcileCron: env.RECONCILE_CRON || '*/10 * * * * *',
    pruneCron: env.PRUNE_CRON || '0 */10 * * * *',
    idempotencyTtlMs: int(env, 'IDEMPOTENCY_TTL_MS', 86_400_000, 86_400_000, 365 * 86_400_000, errors),
    eventsRetentionMs: int(env, 'EVENTS_RETENTION_MS', 3 * 86_400_000, 60_000, 365 * 86_400_000, errors),
    jobHistoryRetentionMs: int(env, 'JOB_HISTORY_RETENTION_MS', 86_400_000, 60_000, 365 * 86_400_000, errors),
    warehouseTimeoutMs: int(env, 'WAREHOUSE_TIMEOUT_MS', 5_000, 1, 600_000, errors),
    warehousePageSize: int(env, 'WAREHOUSE_PAGE_SIZE', 500, 1, 1000, errors),
    warehouseDriftRate: rate(env, 'WAREHOUSE_DRIFT_RATE', 0.05, errors),
    warehouseDriftIntervalMs: int(env, 'WAREHOUSE_DRIFT_INTERVAL_MS', 60_000, 0, 86_400_000, errors),
    pipelineMaxInFlight: int(env, 'PIPELINE_MAX_IN_FLIGHT', 50_000, 1, 10_000_000, errors),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000, errors),
    nodeId: env.NODE_ID || undefined,
    logLevel: env.LOG_LEVEL || 'info',
  };
  if (nodeEnv === 'production' && (!config.adminToken || !config.clientToken)) {
    errors.push('ADMIN_TOKEN and CLIENT_TOKEN are required when NODE_ENV=production');
  }
  if (config.heartbeatTtlMs <= config.heartbeatMs) errors.push('HEARTBEAT_TTL_MS must be longer than HEARTBEAT_MS');
  for (const name of ['WAREHOUSE_SYNC_CRON', 'RETRY_SWEEP_CRON', 'LEASE_RESCUE_CRON', 'STUCK_SWEEP_CRON', 'RECONCILE_CRON', 'PRUNE_CRON'] as const) {
    const pattern = env[name];
    if (pattern) {
      try {
        new Cron(pattern, { paused: true }).stop();
      } catch (error) {
        errors.push(`${name} is not a cron pattern: ${(error as Error).message}`);
      }
    }
  }
  if (config.adminToken && config.adminToken === config.clientToken) {
    errors.push('ADMIN_TOKEN and CLIENT_TOKEN must differ');
  }
  if (errors.length > 0) throw new ConfigError(`Invalid configuration:\n  - ${errors.join('\n  - ')}`);
  return config;
}
