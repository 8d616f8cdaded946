import type { OrderState } from './lifecycle.queries.ts';

/** Reserved orders remembered at once, at most: past it the oldest are forgotten (their next step reads them). */
const MAX_REMEMBERED = 100_000;

/**
 * The reserved orders this process stored or changed last, each as of its version: what the next
 * step of such an order (its payment's outcome: `sell`, `fail`, `retry-payment`) is decided on
 * when its batch is decided from memory, without reading the order. A remembered state is only
 * ever what the order was at that version, and the step's write is fenced on the version, so an
 * order someone else changed meanwhile fails the batch, which is decided again on what is read.
 * Kept: reserved orders, and pending ones this process claimed to retry (their `reserve`); the
 * others' next steps are rare, and read their rows.
 */
export class OrderMemory {
  private readonly states = new Map<string, OrderState>();

  constructor(private readonly max = MAX_REMEMBERED) {}

  get size(): number {
    return this.states.size;
  }

  /** The order as it is once the batch that changed it committed (or `claimed`: as this process's claim left it). */
  note(state: OrderState, { claimed = false } = {}) {
    this.states.delete(state.id);
    if (state.status !== 'reserved' && !(claimed && state.status === 'pending')) return;
    this.states.set(state.id, state);
    if (this.states.size > this.max) this.states.delete(this.states.keys().next().value!);
  }

  forget(orderId: string) {
    this.states.delete(orderId);
  }

  /** The order at `version`, if that is the version remembered. */
  at(orderId: string, version: number): OrderState | undefined {
    const state = this.states.get(orderId);
    return state?.version === version ? state : undefined;
  }
}
