import type { LatencyRange } from '../../config.ts';
import { systemClock, type Clock } from '../../lib/clock.ts';
import { PaymentError, type Charge, type ChargeRequest, type PaymentGateway, type Refund } from './gateway.ts';
import { PaymentLedger } from './ledger.ts';

/**
 * How a simulated charge goes wrong:
 * - `decline`: the card is declined (a charge with status `declined`);
 * - `error`: the provider answers 500 before charging;
 * - `hang`: no answer at all, past the client's timeout; nothing is charged;
 * - `charge-then-drop`: the charge is booked, then the connection drops before the answer;
 * - `charge-late`: no answer at all, and the charge is booked `LATE_CHARGE_MS` after the request,
 *   past the client's timeout (a provider that is slow on its own side);
 * - `refuse`: the request is refused (422), nothing is charged.
 *
 * And a refund (the next refund call, whatever charge it is for):
 * - `refund-error`: 500 before refunding;
 * - `refund-then-drop`: the refund is booked, then the connection drops before the answer;
 * - `refund-late`: no answer at all, and the refund is booked `LATE_CHARGE_MS` after the request.
 */
export type ChargeFailureMode = 'decline' | 'error' | 'hang' | 'charge-then-drop' | 'charge-late' | 'refuse';
export type RefundFailureMode = 'refund-error' | 'refund-then-drop' | 'refund-late';
export type FailureMode = ChargeFailureMode | RefundFailureMode;
const refundModes: readonly RefundFailureMode[] = ['refund-error', 'refund-then-drop', 'refund-late'];
export const failureModes: readonly FailureMode[] = ['decline', 'error', 'hang', 'charge-then-drop', 'charge-late', 'refuse', ...refundModes];
const isRefundMode = (mode: FailureMode): mode is RefundFailureMode => (refundModes as readonly string[]).includes(mode);

/** How long after the request a `charge-late` charge is booked. */
export const LATE_CHARGE_MS = 1500;

export type SimulatorSettings = { failureRate: number; timeoutRate: number; latencyMs: LatencyRange };

/** What the next charge will do (forced failures first, then the random rates), and the next refund (forced failures only). */
export class Behaviour {
  private readonly forced: ChargeFailureMode[] = [];
  private readonly forcedRefunds: RefundFailureMode[] = [];

  constructor(
    public settings: SimulatorSettings,
    private readonly clock: Pick<Clock, 'random'> = systemClock,
  ) {}

  failNext(mode: FailureMode, count = 1) {
    for (let i = 0; i < count; i++) {
      if (isRefundMode(mode)) this.forcedRefunds.push(mode);
      else this.forced.push(mode);
    }
  }

  clearForced() {
    this.forced.length = 0;
    this.forcedRefunds.length = 0;
  }

  nextRefund(): RefundFailureMode | 'succeed' {
    return this.forcedRefunds.shift() ?? 'succeed';
  }

  next(): ChargeFailureMode | 'succeed' {
    const forced = this.forced.shift();
    if (forced) return forced;
    const roll = this.clock.random();
    if (roll < this.settings.timeoutRate) return 'hang';
    if (roll < this.settings.timeoutRate + this.settings.failureRate) return 'decline';
    return 'succeed';
  }

  latency(): number {
    const { min, max } = this.settings.latencyMs;
    return min + Math.round((max - min) * this.clock.random());
  }
}

/**
 * The built-in payment provider, in process. It behaves like the standalone one (`bun run
 * payments`): same ledger, same failure modes; a hang lasts until the client's own timeout. It
 * remembers the last 100,000 charges (minutes of history: enough for any retry or refund of recent
 * orders) so that it
 * does not grow the shop's memory without bound.
 */
export class SimulatedGateway implements PaymentGateway {
  readonly ledger: PaymentLedger;

  constructor(
    readonly behaviour: Behaviour,
    private readonly timeoutMs: number,
    clock: Clock = systemClock,
    maxCharges = 100_000,
  ) {
    this.ledger = new PaymentLedger(clock, maxCharges);
  }

  async charge(request: ChargeRequest): Promise<Charge> {
    const mode = this.behaviour.next();
    const latency = this.behaviour.latency();
    if (mode === 'hang' || mode === 'charge-late') {
      if (mode === 'charge-late') setTimeout(() => this.ledger.charge(request, 'succeeded'), LATE_CHARGE_MS).unref();
      await Bun.sleep(this.timeoutMs);
      throw new PaymentError(`no answer within ${this.timeoutMs} ms`, 'unknown');
    }
    if (latency > 0) await Bun.sleep(Math.min(latency, this.timeoutMs));
    if (latency >= this.timeoutMs) throw new PaymentError(`no answer within ${this.timeoutMs} ms`, 'unknown');
    switch (mode) {
      case 'error':
        throw new PaymentError('provider answered 500', 'unknown');
      case 'refuse':
        throw new PaymentError('provider refused the request (422)', 'permanent');
      case 'charge-then-drop':
        this.ledger.charge(request, 'succeeded');
        throw new PaymentError('connection dropped before the answer', 'unknown');
      case 'decline':
        return this.ledger.charge(request, 'declined').charge;
      case 'succeed':
        return this.ledger.charge(request, 'succeeded').charge;
    }
  }

  async findCharge(idempotencyKey: string): Promise<Charge | null> {
    return this.ledger.find(idempotencyKey);
  }

  async refund(chargeId: string, idempotencyKey: string, amount?: string): Promise<Refund> {
    const mode = this.behaviour.nextRefund();
    if (mode === 'refund-late') {
      setTimeout(() => this.ledger.refund(chargeId, idempotencyKey, amount), LATE_CHARGE_MS).unref();
      await Bun.sleep(this.timeoutMs);
      throw new PaymentError(`no answer within ${this.timeoutMs} ms`, 'unknown');
    }
    if (mode === 'refund-error') throw new PaymentError('provider answered 500', 'unknown');
    const result = this.ledger.refund(chargeId, idempotencyKey, amount);
    if ('refused' in result) throw new PaymentError(`provider refused the refund (422): ${result.reason}`, 'permanent');
    if (mode === 'refund-then-drop') throw new PaymentError('connection dropped before the answer', 'unknown');
    return result.refund;
  }
}
