import { createWebhookReceiver } from '../src/modules/webhooks/receiver.ts';

/**
 * `bun run webhook-receiver`: a receiver for local use. It prints every delivery it gets and
 * verifies its signature with WEBHOOK_SECRET (the `whsec_…` answered when the subscription was
 * created; several, comma-separated, during a rotation), as any Standard Webhooks receiver would.
 *
 *   WEBHOOK_SECRET=whsec_… bun run webhook-receiver        # http://127.0.0.1:4200/hooks
 *   RECEIVER_PORT=4300 RECEIVER_STATUS=500 bun run webhook-receiver   # answer 500 (watch the retries)
 */
const secrets = (process.env.WEBHOOK_SECRET ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const port = Number(process.env.RECEIVER_PORT ?? 4200);
const status = Number(process.env.RECEIVER_STATUS ?? 204);
if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`RECEIVER_PORT must be a port number, got "${process.env.RECEIVER_PORT}"`);
if (!Number.isInteger(status) || status < 200 || status > 599) throw new Error(`RECEIVER_STATUS must be an HTTP status, got "${process.env.RECEIVER_STATUS}"`);

const receiver = createWebhookReceiver({
  port,
  secrets,
  respond: (delivery) => {
    const verdict = delivery.verified === null ? 'not verified (no WEBHOOK_SECRET)' : delivery.verified ? 'signature ok' : `SIGNATURE REFUSED: ${delivery.error}`;
    const { type = '?', timestamp = '?', data = {} } = delivery.payload ?? {};
    console.log(`${new Date().toISOString()}  ${type}  webhook-id ${delivery.id}  (${verdict})`);
    console.log(`  at ${timestamp}: ${JSON.stringify(data)}`);
    // A delivery that does not verify is refused, as a real receiver must: the service retries it.
    return new Response(null, { status: delivery.verified === false ? 401 : status });
  },
});
console.log(`webhook receiver on ${receiver.url}, answering ${status}; ${secrets.length > 0 ? `verifying with ${secrets.length} secret(s)` : 'WEBHOOK_SECRET unset: signatures are not checked'}`);
const stop = () => {
  receiver.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
