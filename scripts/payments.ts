import { loadConfig } from '../src/config.ts';
import { createPaymentServer } from '../src/modules/payments/server.ts';

/**
 * `bun run payments`: the payment simulator as its own HTTP service. Point the shop at it with
 * PAYMENT_URL=http://127.0.0.1:4000. Its behaviour follows PAYMENT_FAILURE_RATE,
 * PAYMENT_TIMEOUT_RATE and PAYMENT_LATENCY_MS, and can be changed at run time (/control/*).
 */
const config = loadConfig();
const port = Number(process.env.PAYMENTS_PORT ?? 4000);
const simulator = createPaymentServer({
  port,
  hostname: process.env.PAYMENTS_HOST ?? '127.0.0.1',
  settings: { failureRate: config.paymentFailureRate, timeoutRate: config.paymentTimeoutRate, latencyMs: config.paymentLatencyMs },
});
console.log(`payment simulator listening on ${simulator.url}`);
console.log(JSON.stringify(simulator.behaviour.settings));
const stop = async () => {
  await simulator.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
