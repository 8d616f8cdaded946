/**
 * An Idempotency-Key for one form: a double submit, or a retry after a lost answer, acts once.
 * crypto.randomUUID needs a secure context; the dashboard may be opened over plain http on a LAN.
 */
export function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `dashboard-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
