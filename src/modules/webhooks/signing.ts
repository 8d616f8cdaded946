import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** `whsec_` and 32 random bytes in base64: the Standard Webhooks secret format. */
export const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** A secret keeps its signer (the key is decoded once); at most a few secrets are live at once. */
const signers = new Map<string, Webhook>();
const MAX_SIGNERS = 1000;

function signer(secret: string): Webhook {
  let found = signers.get(secret);
  if (!found) {
    if (signers.size >= MAX_SIGNERS) signers.clear();
    found = new Webhook(secret);
    signers.set(secret, found);
  }
  return found;
}

/**
 * The Standard Webhooks headers of one attempt: `webhook-id` (the event's, on every attempt),
 * `webhook-timestamp` (this attempt, in seconds) and `webhook-signature`, one `v1,<base64>` per
 * secret, space-separated (during a rotation the old and the new secret both sign).
 */
export function signatureHeaders(eventId: string, body: string, secrets: string[], at: Date): Record<string, string> {
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((secret) => signer(secret).sign(eventId, at, body)).join(' '),
  };
}
