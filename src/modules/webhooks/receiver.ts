import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/** One request a receiver got, and whether its signature verified with the receiver's secret(s). */
export type ReceivedDelivery = {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  payload: { type: string; timestamp: string; data: Record<string, unknown> } | undefined;
  /** null: no secret to verify with; otherwise the verifier's verdict. */
  verified: boolean | null;
  error?: string;
  receivedAt: number;
};

export type ReceiverOptions = {
  port?: number;
  hostname?: string;
  /** Secrets to verify with (`whsec_…`): a delivery verifies when one of them accepts it. */
  secrets?: string[];
  /** The answer to give (default 204); may wait, fail, or answer slowly. */
  respond?: (delivery: ReceivedDelivery) => Response | Promise<Response>;
};

/**
 * A webhook receiver for local use and tests: it verifies each delivery with the `standardwebhooks`
 * package, as any receiver would, keeps what it got and answers as told.
 */
export function createWebhookReceiver(options: ReceiverOptions = {}) {
  const received: ReceivedDelivery[] = [];
  const verifiers = (options.secrets ?? []).map((secret) => new Webhook(secret));
  const server = Bun.serve({
    port: options.port ?? 0,
    hostname: options.hostname ?? '127.0.0.1',
    async fetch(request) {
      const body = await request.text();
      const headers = Object.fromEntries(request.headers);
      const delivery: ReceivedDelivery = {
        id: headers['webhook-id'] ?? '',
        timestamp: headers['webhook-timestamp'] ?? '',
        signature: headers['webhook-signature'] ?? '',
        body,
        payload: undefined,
        verified: verifiers.length === 0 ? null : false,
        receivedAt: Date.now(),
      };
      try {
        delivery.payload = JSON.parse(body);
      } catch {
        delivery.error = 'the body is not JSON';
      }
      for (const verifier of verifiers) {
        try {
          verifier.verify(body, headers);
          delivery.verified = true;
          break;
        } catch (error) {
          delivery.error = error instanceof WebhookVerificationError ? error.message : String(error);
        }
      }
      received.push(delivery);
      return options.respond ? options.respond(delivery) : new Response(null, { status: 204 });
    },
  });
  return {
    url: `http://${options.hostname ?? '127.0.0.1'}:${server.port}/hooks`,
    port: server.port!,
    received,
    stop: () => server.stop(true),
  };
}

export type WebhookReceiver = ReturnType<typeof createWebhookReceiver>;
