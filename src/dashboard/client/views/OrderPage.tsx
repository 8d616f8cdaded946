import { fromCents, toCents } from '../../../lib/money.ts';
import { useCan } from '../access.ts';
import { get, post } from '../api.ts';
import { dateTime, relative, shortId } from '../format.ts';
import { useAction, useDebounced, useLiveEvents, useLoad, useTick } from '../hooks.ts';
import { loadLocations, locationCode } from '../locations.ts';
import { href } from '../router.ts';
import { CANCELLABLE, type Inventory, type Location, type Order, type OrderLog, type Product } from '../types.ts';
import { ConfirmButton, Loading, ProblemBox, StatusBadge } from '../ui.tsx';
import { OrderShipping } from './OrderShipping.tsx';

/** `places`: location id → code, for the locations the order's products are kept at. */
type Details = { order: Order; logs: OrderLog[]; products: Map<string, Product>; places: Map<string, string>; locations: Map<string, Location> | undefined };

async function loadDetails(id: string, mayReadLocations: boolean): Promise<Details> {
  const [order, logs, locations] = await Promise.all([
    get<Order>(`/api/v1/orders/${id}`),
    get<{ items: OrderLog[] }>(`/api/v1/orders/${id}/logs`),
    mayReadLocations ? loadLocations() : undefined,
  ]);
  // Names make the items readable; an item whose product cannot be read still shows its id.
  const [products, stock] = await Promise.all([
    Promise.all(order.items.map((item) => get<Product>(`/api/v1/products/${item.productId}`).catch(() => undefined))),
    Promise.all(order.items.map((item) => get<Inventory>(`/api/v1/products/${item.productId}/inventory`).catch(() => undefined))),
  ]);
  const places = new Map(stock.flatMap((inventory) => inventory?.locations.map((l) => [l.locationId, l.locationCode] as const) ?? []));
  return { order, logs: logs.items, locations, places, products: new Map(products.filter((p) => p !== undefined).map((p) => [p.id, p])) };
}

/** Where a line's units are held or were sold from: each location's code and quantity (a line may be split). */
function Allocations({ item, locations }: { item: Order['items'][number]; locations: Map<string, Location> | undefined }) {
  if (item.allocations.length === 0) return <span class="hint">not reserved</span>;
  return (
    <ul class="allocations">
      {item.allocations.map((a) => (
        <li key={a.locationId} data-location={a.locationId}>
          <code>{locationCode(locations, a.locationId)}</code> {a.quantity}
        </li>
      ))}
    </ul>
  );
}

const lineTotal = (unitPrice: string, quantity: number) => fromCents(toCents(unitPrice) * BigInt(quantity));

/** Every attempt and status change from the order's log, then when the next attempt is due. */
function Timeline({ order, logs }: { order: Order; logs: OrderLog[] }) {
  useTick(1000);
  return (
    <ol class="timeline" aria-label="Order history, oldest first">
      {logs.map((log) => (
        <li key={log.id} class={log.errorMessage ? 'has-error' : undefined}>
          <time dateTime={log.processedAt}>{dateTime(log.processedAt)}</time>
          <StatusBadge status={log.status} />
          <span class="message">{log.message}</span>
          {log.errorMessage && (
            <p class="error-text">
              <strong>Error:</strong> {log.errorMessage}
            </p>
          )}
        </li>
      ))}
      {order.nextAttemptAt && (
        <li class="next">
          <time dateTime={order.nextAttemptAt}>{dateTime(order.nextAttemptAt)}</time>
          <span class="message">
            Next attempt due {relative(order.nextAttemptAt)}
          </span>
        </li>
      )}
    </ol>
  );
}

function Actions({ order, onChanged }: { order: Order; onChanged: (order: Order) => void }) {
  const action = useAction();
  const can = useCan();
  const act = async (what: 'cancel' | 'ship') => {
    const updated = await action.run(() => post<Order>(`/api/v1/orders/${order.id}/${what}`));
    if (updated) onChanged(updated);
  };
  // A processed order with units gone is not cancelled: what comes back is a return.
  const cancellable = CANCELLABLE.has(order.status) && order.fulfilments.length === 0 && can('POST /api/v1/orders/:id/cancel');
  const shippable = order.status === 'processed' && can('POST /api/v1/orders/:id/ship');
  if (!cancellable && !shippable && !action.problem) return null;
  return (
    <div class="actions" aria-live="polite">
      {cancellable && (
        <ConfirmButton
          label="Cancel order"
          confirm={order.status === 'processed' ? 'Restock and refund this order?' : 'Cancel this order?'}
          danger
          busy={action.busy}
          onConfirm={() => act('cancel')}
        />
      )}
      {shippable && <ConfirmButton label="Ship order" confirm="Ship every unit not shipped yet, from where it is held?" busy={action.busy} onConfirm={() => act('ship')} />}
      {action.problem && <ProblemBox problem={action.problem} />}
    </div>
  );
}

function Summary({ details }: { details: Details }) {
  const { order, products, locations } = details;
  return (
    <div class="columns">
      <section class="card" aria-labelledby="summary-title">
        <h2 id="summary-title">Summary</h2>
        <dl class="facts">
          <dt>Id</dt>
          <dd>
            <code>{order.id}</code>
          </dd>
          <dt>Status</dt>
          <dd data-field="status">
            <StatusBadge status={order.status} />
          </dd>
          <dt>Customer</dt>
          <dd>
            <a href={href('orders', { q: order.customerId })}>{order.customerId}</a>
          </dd>
          <dt>Total</dt>
          <dd data-field="total">{order.total}</dd>
          <dt>Placed</dt>
          <dd>{dateTime(order.createdAt)}</dd>
          <dt>Updated</dt>
          <dd>{dateTime(order.updatedAt)}</dd>
          <dt>Reservation attempts</dt>
          <dd>{order.attempts}</dd>
          {order.lastError && (
            <>
              <dt>Last error</dt>
              <dd class="error-text" data-field="lastError">
                {order.lastError}
              </dd>
            </>
          )}
        </dl>
      </section>
      <section class="card" aria-labelledby="payment-title">
        <h2 id="payment-title">Payment</h2>
        {order.payment ? (
          <dl class="facts">
            <dt>Status</dt>
            <dd data-field="payment">{order.payment.status}</dd>
            <dt>Reference</dt>
            <dd>{order.payment.reference ? <code>{order.payment.reference}</code> : '—'}</dd>
            <dt>Attempts</dt>
            <dd>{order.payment.attempts}</dd>
            <dt>Refunded</dt>
            <dd data-field="refunded">{order.refunded}</dd>
          </dl>
        ) : (
          <p class="state empty">No payment yet: it is taken once the stock is reserved.</p>
        )}
      </section>
      <section class="card wide" aria-labelledby="items-title">
        <h2 id="items-title">Items</h2>
        <table class="data">
          <thead>
            <tr>
              <th scope="col">Product</th>
              <th scope="col" class="num">Quantity</th>
              <th scope="col">From</th>
              <th scope="col" class="num">Shipped</th>
              <th scope="col" class="num">Returned</th>
              <th scope="col" class="num">Unit price</th>
              <th scope="col" class="num">Line total</th>
            </tr>
          </thead>
          <tbody>
            {order.items.map((item) => {
              const product = products.get(item.productId);
              return (
                <tr key={item.productId} data-product={item.productId}>
                  <td>
                    <a href={href(`products/${item.productId}`)}>{product ? `${product.name} (${product.sku})` : item.productId}</a>
                  </td>
                  <td class="num">{item.quantity}</td>
                  <td data-field="allocations">
                    <Allocations item={item} locations={locations} />
                  </td>
                  <td class="num" data-field="shipped">{item.shipped}</td>
                  <td class="num" data-field="returned">{item.returned}</td>
                  <td class="num">{item.unitPrice}</td>
                  <td class="num">{lineTotal(item.unitPrice, item.quantity)}</td>
                </tr>
              );
            })}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row" colSpan={6}>
                Total
              </th>
              <td class="num">{order.total}</td>
            </tr>
          </tfoot>
        </table>
      </section>
    </div>
  );
}

export function OrderPage({ id }: { id: string }) {
  const can = useCan();
  const details = useLoad(() => loadDetails(id, can('GET /api/v1/locations')), [id]);
  const refresh = useDebounced(() => void details.refresh(), 150);
  useLiveEvents((events) => {
    if (events.some((e) => e.type.startsWith('order.') && e.data.orderId === id)) refresh();
  });
  const state = details.state;
  return (
    <>
      <p class="crumbs">
        <a href={href('orders')}>Orders</a> /
      </p>
      <div class="heading">
        <h1 tabIndex={-1} title={id}>
          Order <code>{shortId(id)}</code>
        </h1>
        {state.status === 'ready' && <Actions order={state.value.order} onChanged={() => details.refresh()} />}
      </div>
      {state.status === 'loading' && <Loading what="the order" />}
      {state.status === 'error' && <ProblemBox problem={state.problem} onRetry={details.refresh} />}
      {state.status === 'ready' && (
        <>
          <Summary details={state.value} />
          <OrderShipping {...state.value} onChanged={() => void details.refresh()} />
          <section class="card" aria-labelledby="timeline-title">
            <h2 id="timeline-title">Timeline</h2>
            <Timeline order={state.value.order} logs={state.value.logs} />
          </section>
        </>
      )}
    </>
  );
}
