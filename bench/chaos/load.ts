/**
 * Clients placing orders the way API.md tells them to: every order has an Idempotency-Key, and a
 * 503, a timeout or a dropped connection (outcome unknown) is retried with the same key until it
 * gets a definite answer. What each client saw is kept for the checks.
 */
export type Answer = { at: number; ms: number; status: number };

export type LoadOptions = {
  bases: string[];
  clientToken: string;
  clients: number;
  /** Products to order from, picked at random per order. */
  productIds: string[];
  /** The client's own timeout on one request. */
  requestTimeoutMs: number;
};

export class OrderLoad {
  /** Order ids answered 202, by the key that placed them. */
  readonly accepted = new Map<string, string>();
  readonly answers: Answer[] = [];
  private running = true;
  private readonly loops: Promise<void>[];
  private sequence = 0;

  constructor(private readonly options: LoadOptions) {
    this.loops = Array.from({ length: options.clients }, (_, i) => this.client(i));
  }

  /** Stops placing new orders; keys with an unknown outcome are retried until settled or `graceMs` passes. */
  async stop(graceMs: number): Promise<void> {
    this.running = false;
    this.graceUntil = performance.now() + graceMs;
    await Promise.all(this.loops);
  }

  private graceUntil = Number.POSITIVE_INFINITY;

  /** Time of the first 202 at or after `at` (performance.now() clock), or undefined. */
  firstAcceptedAfter(at: number): number | undefined {
    let first: number | undefined;
    for (const answer of this.answers) if (answer.status === 202 && answer.at >= at && (first === undefined || answer.at < first)) first = answer.at;
    return first;
  }

  maxLatencyMs(): number {
    return this.answers.reduce((max, a) => Math.max(max, a.ms), 0);
  }

  private async client(index: number) {
    const base = this.options.bases[index % this.options.bases.length]!;
    while (this.running) {
      const key = `chaos-${process.pid}-${index}-${++this.sequence}`;
      const productId = this.options.productIds[Math.floor(Math.random() * this.options.productIds.length)]!;
      const body = JSON.stringify({ customerId: `chaos-${index}`, items: [{ productId, quantity: 1 }] });
      for (;;) {
        const status = await this.place(base, key, body);
        if (status !== 0 && status !== 503 && status !== 502 && status !== 504 && status !== 409) break;
        if (!this.running && performance.now() > this.graceUntil) return;
        await Bun.sleep(status === 0 ? 100 : 200); // Retry-After is 1 s; a chaos client retries sooner
      }
    }
  }

  /** One attempt; 0 when there was no HTTP answer (refused, reset, client timeout). */
  private async place(base: string, key: string, body: string): Promise<number> {
    const started = performance.now();
    let status = 0;
    try {
      const response = await fetch(`${base}/api/v1/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.clientToken}`, 'content-type': 'application/json', 'idempotency-key': key },
        body,
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
      status = response.status;
      const text = await response.text();
      if (status === 202) this.accepted.set(key, (JSON.parse(text) as { id: string }).id);
    } catch {
      status = 0;
    }
    const now = performance.now();
    this.answers.push({ at: now, ms: now - started, status });
    return status;
  }
}
