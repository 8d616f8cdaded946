import { useState } from 'preact/hooks';
import { ApiError, get, query } from '../api.ts';
import { dateTime, shortId } from '../format.ts';
import { useLiveEvents, usePages } from '../hooks.ts';
import { href, navigate } from '../router.ts';
import { STATUS_LABELS, STATUSES, type Order, type OrderStatus, type Page } from '../types.ts';
import { StatusBadge } from '../ui.tsx';
import { PagedTable } from './PagedTable.tsx';

const PAGE = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `q` is an order id (that order, if it exists) or a customer id (their orders). */
async function search(q: string, status: string, cursor?: string): Promise<Page<Order>> {
  if (UUID.test(q)) {
    try {
      const order = await get<Order>(`/api/v1/orders/${q}`);
      return { items: !status || order.status === status ? [order] : [], nextCursor: null };
    } catch (error) {
      if (error instanceof ApiError && error.problem.status === 404) return { items: [], nextCursor: null };
      throw error;
    }
  }
  return get<Page<Order>>(`/api/v1/orders${query({ status, customerId: q, limit: PAGE, cursor })}`);
}

/** Changing the status keeps what is typed in the search box, submitted or not. */
function Filters({ q, status }: { q: string; status: string }) {
  const [text, setText] = useState(q);
  return (
    <form
      class="toolbar"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        navigate('orders', { status: status || undefined, q: text.trim() || undefined });
      }}
    >
      <label for="order-status">Status</label>
      <select id="order-status" value={status} onChange={(e) => navigate('orders', { status: e.currentTarget.value || undefined, q: text.trim() || undefined })}>
        <option value="">All statuses</option>
        {STATUSES.map((s) => (
          <option key={s} value={s}>
            {STATUS_LABELS[s]}
          </option>
        ))}
      </select>
      <label for="order-q">Customer or order id</label>
      <input id="order-q" type="search" value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <button type="submit">Search</button>
    </form>
  );
}

export function OrdersView({ params }: { params: URLSearchParams }) {
  const q = params.get('q') ?? '';
  const status = params.get('status') ?? '';
  const orders = usePages((cursor) => search(q, status, cursor), [q, status]);
  // Rows on screen follow their order's status; a new order appears with "Refresh".
  useLiveEvents((events) => {
    const latest = new Map<string, OrderStatus>();
    for (const e of events) if (e.type === 'order.status' && typeof e.data.orderId === 'string') latest.set(e.data.orderId, e.data.status as OrderStatus);
    if (latest.size > 0) orders.update((page) => ({ ...page, items: page.items.map((o) => (latest.has(o.id) ? { ...o, status: latest.get(o.id)! } : o)) }));
  });
  return (
    <>
      <div class="heading">
        <h1 tabIndex={-1}>Orders</h1>
        <button type="button" onClick={() => orders.refresh()}>
          Refresh
        </button>
        <a class="button primary" href={href('orders/new')}>
          Place order
        </a>
      </div>
      <Filters key={`${q}|${status}`} q={q} status={status} />
      <PagedTable
        pages={orders}
        what="orders"
        empty={q || status ? 'No order matches these filters.' : 'No orders yet.'}
        caption="Orders, newest first"
        head={
          <>
            <th scope="col">Order</th>
            <th scope="col">Customer</th>
            <th scope="col">Status</th>
            <th scope="col" class="num">Items</th>
            <th scope="col" class="num">Total</th>
            <th scope="col">Placed</th>
            <th scope="col">Last error</th>
          </>
        }
        row={(o) => (
          <tr key={o.id} data-order={o.id}>
            <td>
              <a href={href(`orders/${o.id}`)} title={o.id}>
                <code>{shortId(o.id)}</code>
              </a>
            </td>
            <td>{o.customerId}</td>
            <td>
              <StatusBadge status={o.status} />
            </td>
            <td class="num">{o.items.reduce((n, i) => n + i.quantity, 0)}</td>
            <td class="num">{o.total}</td>
            <td>{dateTime(o.createdAt)}</td>
            <td class="error-text">{o.lastError ?? ''}</td>
          </tr>
        )}
      />
    </>
  );
}
