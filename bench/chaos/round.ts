import postgres from 'postgres';
import { createPaymentServer, type PaymentServer } from '../../src/modules/payments/server.ts';
import { spawnService, type ServiceProcess } from '../../tests/support/process.ts';
import { ledgerCheck } from '../lib/checks.ts';
import type { OrderLoad } from './load.ts';

export type Tokens = { admin: string; client: string };

/** One row of the chaos table. */
export type RoundResult = {
  scenario: string;
  round: number;
  alive: boolean;
  accepted: number;
  lost: number;
  stuck: number;
  oversold: boolean;
  doubleCharges: number;
  unrefunded: number;
  /** Seconds from the database being back (or the freeze) to the event the scenario waits for. */
  recoveryS: number | null;
  maxLatencyMs: number;
  /** Seconds until every accepted order was final (or processed) after the last fault. */
  settledS: number | null;
  note: string;
  /** When orders were stuck: their states, and the last warnings the service processes logged. */
  diagnosis?: { stuckStates: Record<string, unknown>[]; serviceLog: string[] };
};

/** What every round needs: its own database, a payment provider outside the service, services. */
export class RoundKit {
  readonly services: ServiceProcess[] = [];
  readonly payments: PaymentServer;
  readonly sql: postgres.Sql;

  constructor(
    readonly databaseUrl: string,
    readonly tokens: Tokens,
  ) {
    // Outside the service, so its ledger survives whatever happens to the service and can be audited.
    this.payments = createPaymentServer({ port: 0, settings: { failureRate: 0.05, timeoutRate: 0.01, latencyMs: { min: 10, max: 60 } } });
    this.sql = postgres(databaseUrl, { max: 2, onnotice: () => {}, connect_timeout: 5 });
  }

  async startService(env: Record<string, string> = {}): Promise<ServiceProcess> {
    const service = await spawnService({
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: this.databaseUrl,
      PAYMENT_URL: this.payments.url,
      ADMIN_TOKEN: this.tokens.admin,
      CLIENT_TOKEN: this.tokens.client,
      PAYMENT_TIMEOUT_MS: '1000',
      ...env,
    });
    this.services.push(service);
    return service;
  }

  async product(base: string, stock: number): Promise<string> {
    const response = await fetch(`${base}/api/v1/products`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sku: `CHAOS-${crypto.randomUUID().slice(0, 8)}`, name: 'chaos', price: '3.00', initialStock: stock }),
    });
    if (response.status !== 201) throw new Error(`could not create a product: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  }

  alive(): boolean {
    return this.services.every((s) => s.proc.exitCode === null && s.proc.signalCode === null);
  }

  /**
   * Waits (up to `timeoutMs`) until every accepted order is final or processed and every charge on
   * an order that did not go through is refunded; then audits. The clock starts at `from`.
   */
  async settleAndAudit(load: OrderLoad, from: number, timeoutMs: number): Promise<Omit<RoundResult, 'scenario' | 'round' | 'recoveryS' | 'note'>> {
    const ids = [...load.accepted.values()];
    let settledS: number | null = null;
    const deadline = performance.now() + timeoutMs;
    let open = ids.length;
    let unrefunded = 0;
    for (;;) {
      open = await this.openOrders(ids).catch(() => open);
      unrefunded = await this.unrefunded().catch(() => unrefunded);
      if (open === 0 && unrefunded === 0) {
        settledS = (performance.now() - from) / 1000;
        break;
      }
      if (performance.now() > deadline) break;
      await Bun.sleep(250);
    }
    const [stored] = await this.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orders WHERE id = ANY(${ids}::uuid[])`;
    const ledger = await ledgerCheck(this.sql);
    const diagnosis = open > 0 ? await this.diagnose(ids) : undefined;
    return {
      ...(diagnosis ? { diagnosis } : {}),
      alive: this.alive(),
      accepted: ids.length,
      lost: ids.length - stored!.n,
      stuck: open,
      oversold: !ledger.ok,
      doubleCharges: this.doubleCharges(),
      unrefunded,
      maxLatencyMs: load.maxLatencyMs(),
      settledS,
    };
  }

  /** What the stuck orders look like, and what the services logged at warn and above (last lines). */
  private async diagnose(ids: string[]) {
    const stuckStates = await this.sql<Record<string, unknown>[]>`
      SELECT status, attempts, payment_status AS "paymentStatus", lease_owner IS NOT NULL AS leased,
             lease_until > now() AS "leaseLive", next_attempt_at <= now() AS due, count(*)::int AS orders,
             round(extract(epoch FROM now() - max(updated_at))::numeric, 1)::float8 AS "quietForS", max(last_error) AS "lastError"
      FROM orders WHERE id = ANY(${ids}::uuid[]) AND status IN ('pending', 'reserved')
      GROUP BY 1, 2, 3, 4, 5, 6`;
    const serviceLog = this.services.flatMap((s) => s.output().split('\n').filter((line) => line.trim() !== '')).slice(-30);
    return { stuckStates, serviceLog };
  }

  private async openOrders(ids: string[]): Promise<number> {
    const [row] = await this.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orders WHERE id = ANY(${ids}::uuid[]) AND status IN ('pending', 'reserved')`;
    return row!.n;
  }

  /** Orders charged more than once (two succeeded charges under different keys). */
  private doubleCharges(): number {
    const perOrder = new Map<string, number>();
    for (const charge of this.payments.ledger.dump().charges) {
      if (charge.status === 'succeeded') perOrder.set(charge.orderId, (perOrder.get(charge.orderId) ?? 0) + 1);
    }
    return [...perOrder.values()].filter((n) => n > 1).length;
  }

  /** Succeeded charges on orders that are failed or cancelled, with no refund. */
  private async unrefunded(): Promise<number> {
    const { charges, refunds } = this.payments.ledger.dump();
    const refunded = new Set(refunds.map((r) => r.chargeId));
    const open = charges.filter((c) => c.status === 'succeeded' && !refunded.has(c.id));
    if (open.length === 0) return 0;
    const [row] = await this.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM orders WHERE id = ANY(${open.map((c) => c.orderId)}::uuid[]) AND status IN ('failed', 'cancelled')`;
    return row!.n;
  }

  async close() {
    for (const service of this.services) if (service.proc.exitCode === null) service.proc.kill('SIGKILL');
    await Promise.all(this.services.map((s) => s.proc.exited));
    await this.payments.stop();
    await this.sql.end({ timeout: 1 });
  }
}
