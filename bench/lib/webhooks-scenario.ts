import { createWebhookReceiver } from '../../src/modules/webhooks/receiver.ts';
import { AMPLE, ORDERS, orderScenario, ordersUnderLoad } from './scenarios.ts';
import type { ScenarioDatabase } from './database.ts';
import { createProduct, databaseNow, orderBody, payments, warmUp, withService, type Context, type ScenarioResult, type WebhookFigures } from './scenario-kit.ts';

const ORDER_STEPS = ['order.created', 'order.reserved', 'order.processed'];

/**
 * A local receiver that answers 204 and checks, as deliveries arrive, that each order's events
 * come in the order of its life and that the hot product's `onHand` only goes down (it is only sold).
 */
function orderingReceiver() {
  const step = new Map<string, number>();
  const onHand = new Map<string, number>();
  let outOfOrder = 0;
  const receiver = createWebhookReceiver({
    respond: (delivery) => {
      const { type = '', data = {} } = delivery.payload ?? {};
      if (type.startsWith('order.')) {
        const at = ORDER_STEPS.indexOf(type);
        const id = String(data.id);
        if (at < (step.get(id) ?? -1)) outOfOrder++;
        step.set(id, Math.max(at, step.get(id) ?? -1));
      } else if (type === 'inventory.changed') {
        const id = String(data.productId);
        if (Number(data.onHand) > (onHand.get(id) ?? Infinity)) outOfOrder++;
        onHand.set(id, Number(data.onHand));
      }
      return new Response(null, { status: 204 });
    },
  });
  return { receiver, outOfOrder: () => outOfOrder, orders: () => step.size };
}

/** Polls until the subscription has nothing waiting and its cursor is past the last outbox row. */
async function drained(db: ScenarioDatabase, hook: string, timeoutS: number): Promise<boolean> {
  const deadline = performance.now() + timeoutS * 1000;
  for (;;) {
    const [row] = await db.sql<{ done: boolean }[]>`
      SELECT NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE webhook_id = ${hook} AND status = 'pending')
        AND (SELECT (w.cursor_tx, w.cursor_row) >= (e.tx, e.id) FROM webhooks w, (SELECT tx, id FROM events ORDER BY tx DESC, id DESC LIMIT 1) e WHERE w.id = ${hook}) AS done`;
    if (row?.done) return true;
    if (performance.now() > deadline) return false;
    await Bun.sleep(200);
  }
}

async function figures(db: ScenarioDatabase, hook: string, loadStart: string, loadEnd: string, durationS: number): Promise<WebhookFigures & { undelivered: number }> {
  const [row] = await db.sql<{ delivered: number; undelivered: number; duringLoad: number; windowS: number; lag: number[]; maxLag: number; drainS: number }[]>`
    SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS delivered,
           count(*) FILTER (WHERE status <> 'succeeded')::int AS undelivered,
           count(*) FILTER (WHERE status = 'succeeded' AND last_attempt_at BETWEEN ${loadStart}::timestamptz AND ${loadEnd}::timestamptz)::int AS "duringLoad",
           extract(epoch FROM max(last_attempt_at) - min(occurred_at))::float8 AS "windowS",
           percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM last_attempt_at - occurred_at)) AS lag,
           max(extract(epoch FROM last_attempt_at - occurred_at))::float8 AS "maxLag",
           extract(epoch FROM max(last_attempt_at) - ${loadEnd}::timestamptz)::float8 AS "drainS"
    FROM webhook_deliveries WHERE webhook_id = ${hook}`;
  const { delivered, undelivered, duringLoad, windowS, lag, maxLag, drainS } = row!;
  const ms = (s: number | undefined) => (s ?? 0) * 1000;
  return {
    delivered,
    undelivered,
    duringLoadPerS: duringLoad / durationS,
    overallPerS: delivered / windowS,
    lagMs: { p50: ms(lag[0]), p95: ms(lag[1]), p99: ms(lag[2]), max: ms(maxLag) },
    drainS: Math.max(0, drainS),
  };
}

/**
 * The hot-SKU load with one subscription to every order and inventory event, delivered to a
 * local receiver: events delivered per second and the delivery lag while orders flow at the
 * hot-SKU end-to-end rate, and checks that every event arrived, each order's in order.
 */
export async function webhooksScenario(ctx: Context): Promise<ScenarioResult> {
  const { receiver, outOfOrder, orders } = orderingReceiver();
  try {
    return await withService(ctx, 'webhooks', { ...payments.instant, WEBHOOK_ALLOW_PRIVATE: 'true' }, async (harness) => {
      await warmUp(ctx, harness, ORDERS); // before the subscription exists: its events are not delivered
      const hook = await harness.service.api<{ id: string }>('POST', '/api/v1/webhooks', {
        url: receiver.url,
        events: [...ORDER_STEPS, 'inventory.changed', 'inventory.low', 'inventory.out_of_stock'],
      });
      const productId = await createProduct(harness.service, 'HOOK-1', AMPLE);
      const loadStart = await databaseNow(harness.db);
      const run = await ordersUnderLoad(ctx, harness, [orderBody(productId)]);
      const loadEnd = new Date(Date.parse(loadStart) + run.loadResult.durationS * 1000).toISOString();
      const caughtUp = await drained(harness.db, hook.id, ctx.options.drainTimeoutS);
      const seen = await figures(harness.db, hook.id, loadStart, loadEnd, run.loadResult.durationS);
      const [created] = await harness.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM webhook_deliveries WHERE webhook_id = ${hook.id} AND type = 'order.created' AND status = 'succeeded'`;
      run.checks.allDelivered = { ok: caughtUp && seen.undelivered === 0, detail: `${seen.delivered} delivered, ${seen.undelivered} not${caughtUp ? '' : ' (drain timed out)'}` };
      run.checks.everyOrder = { ok: created!.n === run.stored && orders() === run.stored, detail: `order.created for ${created!.n} of ${run.stored} orders; the receiver saw ${orders()} orders` };
      run.checks.inOrder = { ok: outOfOrder() === 0, detail: `${outOfOrder()} events arrived before an earlier one of the same order or product` };
      const result = await orderScenario(ctx, harness, run, { name: 'webhooks', title: 'hot SKU with a webhook subscription to every order and inventory event, payments instant', payments: 'instant' });
      return { ...result, webhooks: { delivered: seen.delivered, duringLoadPerS: seen.duringLoadPerS, overallPerS: seen.overallPerS, lagMs: seen.lagMs, drainS: seen.drainS } };
    });
  } finally {
    receiver.stop();
  }
}
