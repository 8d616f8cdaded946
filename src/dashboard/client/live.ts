import { asProblem, get, type Problem } from './api.ts';
import { EventStream, type StreamEvent, type StreamState } from './stream.ts';
import type { OrderCounts, OrderStatus } from './types.ts';

/** What the chart counts per second: new orders, and the three ways an order ends up. */
export const OUTCOMES = ['placed', 'processed', 'failed', 'cancelled'] as const;
export type Outcome = (typeof OUTCOMES)[number];
export type Tally = Record<Outcome, number>;

/** The chart's window. */
export const WINDOW_SECONDS = 300;
const RECENT = 12;
/** The counts are re-read at most this often while order events keep arriving. */
const RECOUNT_MS = 5000;

export type OrderChange = { id: string; at: string; orderId: string; status: OrderStatus; previous: OrderStatus | null; error: string | null };

export const emptyTally = (): Tally => ({ placed: 0, processed: 0, failed: 0, cancelled: 0 });

function outcomeOf(change: OrderChange): Outcome | undefined {
  // Accepted: born reserved (its stock was there), pending (waiting for stock) or, rarely, failed.
  if (change.previous === null) return 'placed';
  if (change.previous === change.status) return undefined;
  return change.status === 'processed' || change.status === 'failed' || change.status === 'cancelled' ? change.status : undefined;
}

function orderChange(event: StreamEvent): OrderChange | undefined {
  if (event.type !== 'order.status') return undefined;
  const { orderId, status, previous, error, at } = event.data;
  if (typeof orderId !== 'string' || typeof status !== 'string') return undefined;
  return {
    id: event.id ?? `${orderId}-${status}`,
    at: typeof at === 'string' ? at : new Date().toISOString(),
    orderId,
    status: status as OrderStatus,
    previous: typeof previous === 'string' ? (previous as OrderStatus) : null,
    error: typeof error === 'string' ? error : null,
  };
}

/**
 * Everything the live view shows, fed by the event stream while the operator is signed in (so the
 * chart keeps filling while other pages are open). Views subscribe to changes of this state, or to
 * the raw events to refresh what they show.
 */
export class Live {
  stream: StreamState = { status: 'connecting' };
  counts: OrderCounts['counts'] | undefined;
  countsProblem: Problem | undefined;
  recent: OrderChange[] = [];
  /** Orders per second by outcome, keyed by the second (Unix time) of the change. */
  readonly perSecond = new Map<number, Tally>();

  private readonly source: EventStream;
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<(events: StreamEvent[]) => void>();
  private notifyTimer: ReturnType<typeof setTimeout> | undefined;
  private recountTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    token: string,
    onRefused: (problem: Problem) => void,
    private readonly may: { stream: boolean; counts: boolean },
  ) {
    this.source = new EventStream(token, {
      onOpen: () => void this.recount(),
      onEvents: (events) => this.apply(events),
      onState: (state) => {
        this.stream = state;
        this.notify();
      },
      onRefused,
    });
  }

  start() {
    if (this.may.stream) this.source.start();
    else void this.recount();
  }

  stop() {
    this.source.stop();
    clearTimeout(this.notifyTimer);
    clearTimeout(this.recountTimer);
  }

  /** Calls `listener` (at most ten times a second) whenever the state changes. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onEvents(listener: (events: StreamEvent[]) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /**
   * The stream starts at the oldest transaction still running, so it can replay a change the
   * counts already include; and a change can commit between the count and the stream's start.
   * Counts move with each event at once and are read again shortly after, which settles both.
   */
  private async recount() {
    clearTimeout(this.recountTimer);
    this.recountTimer = undefined;
    if (!this.may.counts) return;
    try {
      this.counts = (await get<OrderCounts>('/api/v1/orders/counts')).counts;
      this.countsProblem = undefined;
    } catch (error) {
      this.countsProblem = asProblem(error);
    }
    this.notify();
  }

  private apply(events: StreamEvent[]) {
    const now = Math.floor(Date.now() / 1000);
    for (const event of events) {
      const change = orderChange(event);
      if (!change) continue;
      if (this.counts && change.previous !== change.status) {
        if (change.previous) this.counts[change.previous] = Math.max(0, this.counts[change.previous] - 1);
        this.counts[change.status] += 1;
      }
      const outcome = outcomeOf(change);
      if (outcome) {
        const second = Math.floor(Date.parse(change.at) / 1000);
        const tally = this.perSecond.get(second) ?? emptyTally();
        tally[outcome] += 1;
        this.perSecond.set(second, tally);
      }
      this.recent.unshift(change);
    }
    this.recent.length = Math.min(this.recent.length, RECENT);
    for (const second of this.perSecond.keys()) if (second < now - WINDOW_SECONDS) this.perSecond.delete(second);
    if (events.some((e) => e.type === 'order.status')) this.recountTimer ??= setTimeout(() => void this.recount(), RECOUNT_MS);
    for (const listener of this.eventListeners) listener(events);
    this.notify();
  }

  private notify() {
    this.notifyTimer ??= setTimeout(() => {
      this.notifyTimer = undefined;
      for (const listener of this.listeners) listener();
    }, 100);
  }
}
