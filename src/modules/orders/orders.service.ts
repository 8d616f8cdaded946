import type { StockActors } from '../../actors/stock-actors.ts';
import type { Sql } from '../../db/client.ts';
import { conflict, notFound } from '../../lib/errors.ts';
import { decodeCursor, isUuidKey, pageOf } from '../../lib/paging.ts';
import type { OrderIntake } from './intake.ts';
import type { Order, OrderCounts, OrderCreate, OrderListQuery, OrderLog } from './orders.models.ts';
import { orderStatuses } from './order-state.ts';
import * as q from './orders.queries.ts';
import type { OrderSteps } from './steps.ts';
import { orderView } from './views.ts';

/** What clients do with orders. The intake and the worker do the work; this answers and decides. */
export class OrdersService {
  constructor(
    private readonly sql: Sql,
    private readonly intake: OrderIntake,
    private readonly actors: StockActors,
    private readonly steps: OrderSteps,
    /** A refund became due now: have the provider asked without waiting for the next sweep. */
    private readonly refundDue: () => void,
  ) {}

  /** `scope` is the caller's credential scope: idempotency keys of two callers never collide. */
  place(input: OrderCreate, idempotencyKey: string | undefined, scope: string) {
    return this.intake.place(input, idempotencyKey, scope);
  }

  /**
   * `customerId` (a customer token's restriction): an order of another customer is not found, so
   * its existence is not revealed either.
   */
  async get(id: string, customerId?: string): Promise<Order> {
    return orderView(await this.find(id, customerId));
  }

  async list(query: OrderListQuery, customerId?: string): Promise<{ items: Order[]; nextCursor: string | null }> {
    if (customerId !== undefined && query.customerId !== undefined && query.customerId !== customerId) return { items: [], nextCursor: null };
    if (customerId !== undefined) query = { ...query, customerId };
    const limit = query.limit ?? 50;
    const before = decodeCursor(query.cursor, isUuidKey);
    const rows = await q.listOrders(this.sql, { status: query.status, customerId: query.customerId, beforeId: before?.[0], limit: limit + 1 });
    return pageOf(rows, limit, orderView, (row) => [row.id]);
  }

  async counts(): Promise<OrderCounts> {
    const counts = Object.fromEntries(orderStatuses.map((status) => [status, 0])) as OrderCounts['counts'];
    for (const row of await q.countOrdersByStatus(this.sql)) counts[row.status] = row.count;
    return { counts };
  }

  async logs(id: string, customerId?: string): Promise<{ items: OrderLog[] }> {
    await this.find(id, customerId);
    const items = await q.orderLog(this.sql, id);
    if (!items) throw notFound(`order ${id}`);
    return { items };
  }

  /**
   * pending → cancelled; reserved → cancelled with the stock released (and the provider asked,
   * until the reconcile horizon, for a charge that may still land); processed → cancelled with the
   * stock put back and the charge refunded. A step under the order's stock locks, so it is
   * serialised with the order's own work; a worker still busy with it is fenced out.
   */
  async cancel(id: string, customerId?: string): Promise<Order> {
    const row = await this.find(id, customerId);
    if (row.status === 'cancelled') return orderView(row);
    if (row.status === 'failed' || row.status === 'shipped') throw conflict(`a ${row.status} order cannot be cancelled`, { orderStatus: row.status });
    const outcome = await this.actors.submit(this.steps.work(id, row.items, { kind: 'cancel' }));
    if (outcome.outcome === 'moved' && row.status === 'processed') this.refundDue();
    return this.get(id);
  }

  private async find(id: string, customerId: string | undefined) {
    const row = await q.findOrder(this.sql, id);
    if (!row || !belongsTo(row, customerId)) throw notFound(`order ${id}`);
    return row;
  }
}

const belongsTo = (order: { customerId: string }, customerId: string | undefined) => customerId === undefined || order.customerId === customerId;
