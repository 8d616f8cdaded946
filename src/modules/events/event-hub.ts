import type { Sql } from '../../db/client.ts';
import { AppError, toError } from '../../lib/errors.ts';
import { PG_BIGINT_MAX } from '../../lib/bounds.ts';
import type { Logger } from '../../lib/logger.ts';
import { currentPosition, orderCustomers, readEvents } from './events.queries.ts';
import { expandRow, type StreamEvent } from './records.ts';

export type { StreamEvent };
type Cursor = { tx: string; id: string; index: number };

/** Beyond these the outbox query fails (xid8 and bigint out of range) on every poll of the stream. */
const XID8_MAX = 18_446_744_073_709_551_615n;

export function parseEventId(value: string, path = 'headers.last-event-id'): Cursor {
  const match = /^(\d{1,20})-(\d{1,19})-(\d{1,6})$/.exec(value);
  if (!match || BigInt(match[1]!) > XID8_MAX || BigInt(match[2]!) > PG_BIGINT_MAX) {
    throw new AppError('validation', 'Last-Event-ID is not an id this stream produced', [{ path, message: 'is invalid' }]);
  }
  // Written as PostgreSQL writes them: `xid8` refuses leading zeros ("08" is read as octal).
  return { tx: BigInt(match[1]!).toString(), id: BigInt(match[2]!).toString(), index: Number(match[3]) };
}

/** `customerId`: a customer token's stream (see `forCustomer`). */
export type StreamFilter = { customerId?: string };

type Subscriber = {
  cursor: Cursor;
  send: (events: StreamEvent[]) => void;
  end: () => void;
  busy: boolean;
  customerId?: string;
  /** Order id → customer id, remembered per stream (bounded). */
  owners: Map<string, string>;
};

const MAX_REMEMBERED_OWNERS = 10_000;
/** How often open streams look for new events: a dashboard sees a change within a quarter second. */
const POLL_MS = 250;
/** Outbox rows read per poll per stream. */
const BATCH = 500;

/**
 * Tails the outbox for every open stream. Each subscriber has its own position (resume with
 * `Last-Event-ID`); one timer polls for all of them while any is connected.
 */
export class EventHub {
  private readonly subscribers = new Set<Subscriber>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(
    private readonly sql: Sql,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.subscribers.size;
  }

  /** `end` is called when the hub closes: the stream must finish then, or shutdown would wait for it. */
  async subscribe(lastEventId: string | undefined, send: (events: StreamEvent[]) => void, end: () => void, filter: StreamFilter = {}): Promise<() => void> {
    const cursor = lastEventId ? parseEventId(lastEventId) : { ...(await currentPosition(this.sql)), index: -1 };
    const subscriber: Subscriber = { cursor, send, end, busy: false, customerId: filter.customerId, owners: new Map() };
    if (this.closed) {
      end();
      return () => {};
    }
    this.subscribers.add(subscriber);
    this.timer ??= setInterval(() => this.tick(), POLL_MS);
    void this.poll(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  /** Ends every open stream; clients reconnect (to another process) and resume with `Last-Event-ID`. */
  close() {
    this.closed = true;
    const open = [...this.subscribers];
    this.subscribers.clear();
    for (const subscriber of open) subscriber.end();
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick() {
    for (const subscriber of this.subscribers) if (!subscriber.busy) void this.poll(subscriber);
  }

  private async poll(subscriber: Subscriber) {
    subscriber.busy = true;
    try {
      for (;;) {
        const rows = await readEvents(this.sql, subscriber.cursor, BATCH);
        const events: StreamEvent[] = [];
        for (const row of rows) {
          const expanded = expandRow(row);
          const sameRow = row.tx === subscriber.cursor.tx && row.id === subscriber.cursor.id;
          events.push(...(sameRow ? expanded.slice(subscriber.cursor.index + 1) : expanded));
          subscriber.cursor = { tx: row.tx, id: row.id, index: expanded.length - 1 };
        }
        // Subscriptions' own events (`webhook.disabled`) carry their URLs: for admins, through webhooks only.
        const shared = events.filter((event) => !event.type.startsWith('webhook.'));
        const visible = subscriber.customerId === undefined ? shared : await this.forCustomer(subscriber, shared);
        if (visible.length > 0 && this.subscribers.has(subscriber)) subscriber.send(visible);
        if (rows.length < BATCH) break;
      }
    } catch (error) {
      this.logger.warn({ err: toError(error) }, 'event stream poll failed');
    } finally {
      subscriber.busy = false;
    }
  }

  /**
   * A customer token's stream: inventory events (catalog data) and the order and hold events of its
   * own customer, nothing else. Order events carry `data.customerId`; only rows written before they did
   * (the outbox's first format) need the customer looked up (one query per batch, remembered per
   * stream).
   */
  private async forCustomer(subscriber: Subscriber, events: StreamEvent[]): Promise<StreamEvent[]> {
    const isOrder = (event: StreamEvent) => event.type.startsWith('order.');
    const unknown = new Set<string>();
    for (const event of events) {
      const orderId = event.data.orderId;
      if (isOrder(event) && event.data.customerId === undefined && typeof orderId === 'string' && !subscriber.owners.has(orderId)) unknown.add(orderId);
    }
    if (unknown.size > 0) {
      if (subscriber.owners.size > MAX_REMEMBERED_OWNERS) subscriber.owners.clear();
      for (const row of await orderCustomers(this.sql, [...unknown])) subscriber.owners.set(row.id, row.customerId);
    }
    return events.filter((event) => {
      if (event.type.startsWith('inventory.')) return true;
      if (event.type.startsWith('hold.')) return event.data.customerId === subscriber.customerId;
      if (!isOrder(event)) return false;
      const owner = event.data.customerId ?? subscriber.owners.get(String(event.data.orderId));
      return owner === subscriber.customerId;
    });
  }
}
