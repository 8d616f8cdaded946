import { PaymentError, type Charge, type ChargeRequest, type PaymentGateway, type Refund } from './gateway.ts';

/** A provider speaking the protocol in API.md, at `PAYMENT_URL`. */
export class HttpPaymentGateway implements PaymentGateway {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  async charge(request: ChargeRequest): Promise<Charge> {
    const { idempotencyKey, ...body } = request;
    return this.call<Charge>('POST', '/charges', body, idempotencyKey);
  }

  async findCharge(idempotencyKey: string): Promise<Charge | null> {
    const page = await this.call<{ items: Charge[] }>('GET', `/charges?idempotencyKey=${encodeURIComponent(idempotencyKey)}`);
    return page.items[0] ?? null;
  }

  async refund(chargeId: string, idempotencyKey: string, amount?: string): Promise<Refund> {
    return this.call<Refund>('POST', `/charges/${encodeURIComponent(chargeId)}/refunds`, amount === undefined ? {} : { amount }, idempotencyKey);
  }

  private async call<T>(method: string, path: string, body?: unknown, idempotencyKey?: string): Promise<T> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.baseUrl.replace(/\/$/, '')}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      // Timed out, refused, or dropped mid-answer: whether it was charged is unknown.
      const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : `connection failed: ${(error as Error).message}`;
      throw new PaymentError(reason, 'unknown');
    }
    if (response.status >= 500) throw new PaymentError(`provider answered ${response.status}`, 'unknown');
    if (response.status === 409 || response.status === 429) throw new PaymentError(`provider answered ${response.status}`, 'retryable');
    if (response.status >= 400) throw new PaymentError(`provider refused the request (${response.status}): ${text.slice(0, 200)}`, 'permanent');
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new PaymentError('provider sent a malformed answer', 'unknown');
    }
  }
}
