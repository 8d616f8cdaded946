import type { Server } from 'bun';
import type { LatencyRange } from '../../config.ts';
import { systemClock } from '../../lib/clock.ts';
import { json, readJsonObject } from '../../lib/http-json.ts';
import type { ChargeRequest } from './gateway.ts';
import { PaymentLedger } from './ledger.ts';
import { Behaviour, failureModes, LATE_CHARGE_MS, type FailureMode, type SimulatorSettings } from './simulator.ts';

/**
 * The payment simulator as a standalone HTTP service (`bun run payments`), speaking the provider
 * protocol of API.md, plus a control API to make it fail on purpose:
 *
 *   POST /control/fail      { "mode": "decline" | "error" | "hang" | "charge-then-drop" | "charge-late" | "refuse"
 *                                     | "refund-error" | "refund-then-drop" | "refund-late", "count": 1 }
 *   POST /control/settings  { "failureRate": 0.1, "timeoutRate": 0.02, "latencyMs": "20-200" }
 *   GET  /control/ledger    every charge and refund booked
 *   POST /control/reset     forget everything
 */
export type PaymentServer = { server: Server<undefined>; url: string; ledger: PaymentLedger; behaviour: Behaviour; stop(): Promise<void> };

const MONEY = /^(0|[1-9][0-9]{0,11})\.[0-9]{2}$/;

function parseLatency(value: unknown): LatencyRange | undefined {
  if (typeof value === 'number') return { min: value, max: value };
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+)(?:-(\d+))?$/.exec(value);
  if (!match) return undefined;
  return { min: Number(match[1]), max: Number(match[2] ?? match[1]) };
}

/** The answer breaks off after its first bytes: the client cannot know the outcome. */
function cutOff(status: number, body: unknown): Response {
  const partial = new TextEncoder().encode(JSON.stringify(body).slice(0, 12));
  return new Response(new ReadableStream({ start: (controller) => (controller.enqueue(partial), controller.close()) }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

export function createPaymentServer(options: { port?: number; hostname?: string; settings: SimulatorSettings }): PaymentServer {
  const ledger = new PaymentLedger(systemClock);
  const behaviour = new Behaviour(options.settings);

  async function charge(request: Request): Promise<Response> {
    const key = request.headers.get('idempotency-key');
    if (!key) return json(400, { error: 'Idempotency-Key header is required' });
    const body = await readJsonObject(request);
    if (!body || typeof body.orderId !== 'string' || typeof body.amount !== 'string' || !MONEY.test(body.amount) || typeof body.currency !== 'string') {
      return json(422, { error: 'body must be { orderId, amount: "12.34", currency }' });
    }
    const chargeRequest: ChargeRequest = { idempotencyKey: key, orderId: body.orderId, amount: body.amount, currency: body.currency };
    const mode = behaviour.next();
    if (mode === 'charge-late') {
      // Booked on the provider's side after the client has given up; the client never hears of it.
      setTimeout(() => ledger.charge(chargeRequest, 'succeeded'), LATE_CHARGE_MS).unref();
    }
    if (mode === 'hang' || mode === 'charge-late') {
      // Hold the request until the client gives up (or five minutes pass).
      await Promise.race([new Promise((resolve) => request.signal.addEventListener('abort', resolve)), Bun.sleep(300_000)]);
      return json(504, { error: 'gave up' });
    }
    const latency = behaviour.latency();
    if (latency > 0) await Bun.sleep(latency);
    switch (mode) {
      case 'error':
        return json(500, { error: 'simulated provider error' });
      case 'refuse':
        return json(422, { error: 'simulated refusal: nothing was charged' });
      case 'charge-then-drop':
        return cutOff(201, ledger.charge(chargeRequest, 'succeeded').charge);
      default: {
        const result = ledger.charge(chargeRequest, mode === 'decline' ? 'declined' : 'succeeded');
        return json(result.created ? 201 : 200, result.charge);
      }
    }
  }

  /** A body that is empty, or a JSON object whose `amount` (absent: what is left) is money. */
  async function refundAmount(request: Request): Promise<{ amount?: string } | undefined> {
    const text = await request.text();
    if (text.trim() === '') return {};
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    const { amount } = body as { amount?: unknown };
    if (amount !== undefined && (typeof amount !== 'string' || !MONEY.test(amount))) return undefined;
    return { amount };
  }

  async function refund(request: Request, chargeId: string): Promise<Response> {
    const key = request.headers.get('idempotency-key');
    if (!key) return json(400, { error: 'Idempotency-Key header is required' });
    const body = await refundAmount(request);
    if (!body) return json(422, { error: 'body must be { amount?: "12.34" } (absent: what is left of the charge)' });
    const mode = behaviour.nextRefund();
    if (mode === 'refund-late') {
      // Booked after the client has given up; the client never hears of it.
      setTimeout(() => ledger.refund(chargeId, key, body.amount), LATE_CHARGE_MS).unref();
      await Promise.race([new Promise((resolve) => request.signal.addEventListener('abort', resolve)), Bun.sleep(300_000)]);
      return json(504, { error: 'gave up' });
    }
    const latency = behaviour.latency();
    if (latency > 0) await Bun.sleep(latency);
    if (mode === 'refund-error') return json(500, { error: 'simulated provider error' });
    const result = ledger.refund(chargeId, key, body.amount);
    if ('refused' in result) return json(result.refused === 'unknown_charge' ? 404 : 422, { error: result.reason });
    if (mode === 'refund-then-drop') return cutOff(201, result.refund);
    return json(result.created ? 201 : 200, result.refund);
  }

  async function control(request: Request, action: string): Promise<Response> {
    if (action === 'ledger' && request.method === 'GET') return json(200, ledger.dump());
    if (request.method !== 'POST') return json(405, { error: 'method not allowed' });
    if (action === 'reset') {
      ledger.reset();
      behaviour.clearForced();
      return json(200, { ok: true });
    }
    const body = (await readJsonObject(request)) ?? {};
    if (action === 'fail') {
      if (!failureModes.includes(body.mode as FailureMode)) return json(422, { error: `mode must be one of ${failureModes.join(', ')}` });
      behaviour.failNext(body.mode as FailureMode, typeof body.count === 'number' ? body.count : 1);
      return json(200, { ok: true });
    }
    if (action === 'settings') {
      const latencyMs = body.latencyMs === undefined ? behaviour.settings.latencyMs : parseLatency(body.latencyMs);
      if (!latencyMs) return json(422, { error: 'latencyMs must be N or "MIN-MAX"' });
      behaviour.settings = {
        failureRate: typeof body.failureRate === 'number' ? body.failureRate : behaviour.settings.failureRate,
        timeoutRate: typeof body.timeoutRate === 'number' ? body.timeoutRate : behaviour.settings.timeoutRate,
        latencyMs,
      };
      return json(200, behaviour.settings);
    }
    return json(404, { error: 'unknown control action' });
  }

  const server = Bun.serve({
    port: options.port ?? 4000,
    hostname: options.hostname ?? '127.0.0.1',
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      const parts = url.pathname.split('/').filter(Boolean);
      if (url.pathname === '/health') return json(200, { status: 'ok' });
      if (url.pathname === '/charges' && request.method === 'POST') return charge(request);
      if (url.pathname === '/charges' && request.method === 'GET') {
        const key = url.searchParams.get('idempotencyKey');
        if (!key) return json(400, { error: 'idempotencyKey is required' });
        const found = ledger.find(key);
        return json(200, { items: found ? [found] : [] });
      }
      if (parts[0] === 'charges' && parts[2] === 'refunds' && parts.length === 3 && request.method === 'POST') return refund(request, parts[1]!);
      if (parts[0] === 'control' && parts.length === 2) return control(request, parts[1]!);
      return json(404, { error: 'not found' });
    },
  });
  return {
    server,
    url: `http://${server.hostname}:${server.port}`,
    ledger,
    behaviour,
    stop: () => server.stop(true),
  };
}
