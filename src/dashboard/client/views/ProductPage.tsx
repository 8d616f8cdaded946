import { useState } from 'preact/hooks';
import { useCan } from '../access.ts';
import { get, patch, post, query } from '../api.ts';
import { dateTime, relative, shortId } from '../format.ts';
import { useAction, useDebounced, useLiveEvents, useLoad, usePages } from '../hooks.ts';
import { href } from '../router.ts';
import type { Hold, Inventory, Movement, Page, Product } from '../types.ts';
import { Loading, ProblemBox } from '../ui.tsx';
import { PagedTable } from './PagedTable.tsx';

function EditForm({ product, onSaved }: { product: Product; onSaved: (product: Product) => void }) {
  const [form, setForm] = useState({
    name: product.name,
    description: product.description,
    price: product.price,
    lowStockThreshold: product.lowStockThreshold === null ? '' : String(product.lowStockThreshold),
  });
  const action = useAction();
  const [saved, setSaved] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setSaved(false);
    const lowStockThreshold = form.lowStockThreshold.trim() === '' ? null : Number(form.lowStockThreshold);
    const updated = await action.run(() =>
      patch<Product>(`/api/v1/products/${product.id}`, { name: form.name.trim(), description: form.description, price: form.price.trim(), lowStockThreshold }),
    );
    if (updated) {
      onSaved(updated);
      setSaved(true);
    }
  };
  const set = (name: keyof typeof form) => (e: Event) => {
    setSaved(false);
    setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value });
  };
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="edit-title">
      <h2 id="edit-title">Details</h2>
      <label for="edit-name">Name</label>
      <input id="edit-name" value={form.name} onInput={set('name')} required maxLength={200} />
      <label for="edit-description">Description</label>
      <textarea id="edit-description" value={form.description} onInput={set('description')} rows={3} maxLength={5000} />
      <label for="edit-price">Price</label>
      <input id="edit-price" value={form.price} onInput={set('price')} required inputMode="decimal" />
      <label for="edit-threshold">Low-stock alert at (empty: none)</label>
      <input id="edit-threshold" type="number" min={0} step={1} value={form.lowStockThreshold} onInput={set('lowStockThreshold')} />
      {action.problem && <ProblemBox problem={action.problem} />}
      <div class="actions" aria-live="polite">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Saving…' : 'Save changes'}
        </button>
        {saved && <span class="ok">Saved.</span>}
      </div>
    </form>
  );
}

function AdjustForm({ productId, onAdjusted }: { productId: string; onAdjusted: (inventory: Inventory) => void }) {
  const [delta, setDelta] = useState('');
  const [reason, setReason] = useState('');
  const [done, setDone] = useState<Inventory | undefined>();
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    setDone(undefined);
    const inventory = await action.run(() => post<Inventory>(`/api/v1/products/${productId}/inventory/adjustments`, { delta: Number(delta), reason: reason.trim() }));
    if (inventory) {
      setDone(inventory);
      setDelta('');
      setReason('');
      onAdjusted(inventory);
    }
  };
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="adjust-title">
      <h2 id="adjust-title">Adjust stock</h2>
      <label for="adjust-delta">Change (+ received, − removed)</label>
      <input id="adjust-delta" type="number" step={1} required value={delta} onInput={(e) => setDelta(e.currentTarget.value)} />
      <label for="adjust-reason">Reason</label>
      <input id="adjust-reason" required maxLength={200} placeholder="e.g. delivery, damaged, stock take" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      {action.problem && <ProblemBox problem={action.problem} />}
      <div class="actions" aria-live="polite">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Adjusting…' : 'Adjust stock'}
        </button>
        {done && <span class="ok">Stock adjusted: {done.onHand} on hand.</span>}
      </div>
    </form>
  );
}

/** The stock ledger (admin, warehouse and read-only credentials). */
function Movements({ productId, version }: { productId: string; version: string }) {
  const movements = usePages(
    (cursor) => get<Page<Movement>>(`/api/v1/products/${productId}/inventory/movements${query({ limit: 20, cursor })}`),
    [productId, version],
  );
  return (
    <section class="card" aria-labelledby="movements-title">
      <h2 id="movements-title">Latest stock movements</h2>
      <PagedTable
        pages={movements}
        what="movements"
        empty="No movements yet."
        caption="Stock movements, newest first"
        head={
          <>
            <th scope="col">When</th>
            <th scope="col" class="num">Change</th>
            <th scope="col">Reason</th>
            <th scope="col" class="num">On hand after</th>
          </>
        }
        row={(m) => (
          <tr key={m.id}>
            <td>{dateTime(m.createdAt)}</td>
            <td class="num">{m.delta > 0 ? `+${m.delta}` : m.delta}</td>
            <td>{m.orderId ? <a href={href(`orders/${m.orderId}`)}>{m.reason}</a> : m.reason}</td>
            <td class="num">{m.onHandAfter}</td>
          </tr>
        )}
      />
    </section>
  );
}

/** The product's active holds (carts keeping its stock), soonest made last; live with the product's stock. */
function ActiveHolds({ productId, version }: { productId: string; version: string }) {
  const holds = usePages((cursor) => get<Page<Hold>>(`/api/v1/holds${query({ productId, status: 'active', limit: 20, cursor })}`), [productId, version]);
  // Holds name their locations by id; the product's inventory knows their codes.
  const inventory = useLoad(() => get<Inventory>(`/api/v1/products/${productId}/inventory`), [productId, version]);
  const codes = new Map(inventory.state.status === 'ready' ? inventory.state.value.locations.map((l) => [l.locationId, l.locationCode]) : []);
  return (
    <section class="card" aria-labelledby="holds-title">
      <h2 id="holds-title">Active holds</h2>
      <PagedTable
        pages={holds}
        what="holds"
        empty="No cart holds this product's stock."
        caption="Active holds of this product, newest first"
        head={
          <>
            <th scope="col">Hold</th>
            <th scope="col">Customer</th>
            <th scope="col" class="num">Units</th>
            <th scope="col">Where</th>
            <th scope="col">Expires</th>
          </>
        }
        row={(h) => {
          const line = h.items.find((item) => item.productId === productId);
          return (
            <tr key={h.id} data-hold={h.id}>
              <td>
                <code title={h.id}>{shortId(h.id)}</code>
              </td>
              <td>{h.customerId ?? 'guest'}</td>
              <td class="num" data-field="quantity">
                {line?.quantity ?? 0}
              </td>
              <td>{line?.allocations.map((a) => `${a.quantity} at ${codes.get(a.locationId) ?? shortId(a.locationId)}`).join(', ')}</td>
              <td title={dateTime(h.expiresAt)}>{relative(h.expiresAt)}</td>
            </tr>
          );
        }}
      />
    </section>
  );
}

export function ProductPage({ id }: { id: string }) {
  const can = useCan();
  const product = useLoad(() => get<Product>(`/api/v1/products/${id}`), [id]);
  const refresh = useDebounced(() => void product.refresh(), 200);
  useLiveEvents((events) => {
    if (events.some((e) => (e.type === 'inventory.changed' && e.data.productId === id) || e.type === 'hold.expired')) refresh();
  });
  const state = product.state;
  return (
    <>
      <p class="crumbs">
        <a href={href('products')}>Products</a> /
      </p>
      {state.status === 'loading' && (
        <>
          <h1 tabIndex={-1}>Product</h1>
          <Loading what="the product" />
        </>
      )}
      {state.status === 'error' && (
        <>
          <h1 tabIndex={-1}>Product</h1>
          <ProblemBox problem={state.problem} onRetry={product.refresh} />
        </>
      )}
      {state.status === 'ready' && (
        <>
          <h1 tabIndex={-1}>
            {state.value.name} <code class="sku">{state.value.sku}</code>
          </h1>
          {state.value.archived && <p class="notice">Archived: it can no longer be ordered.</p>}
          <dl class="stock" aria-label="Stock">
            <div>
              <dt>On hand</dt>
              <dd data-field="onHand">{state.value.inventory.onHand}</dd>
            </div>
            <div>
              <dt>Reserved</dt>
              <dd data-field="reserved">{state.value.inventory.reserved}</dd>
            </div>
            <div>
              <dt>
                <abbr title="Of reserved: kept for carts by holds, until converted into orders, released or expired">Held</abbr>
              </dt>
              <dd data-field="held">{state.value.inventory.held}</dd>
            </div>
            <div>
              <dt>Available</dt>
              <dd data-field="available">{state.value.inventory.available}</dd>
            </div>
          </dl>
          <div class="columns">
            {can('PATCH /api/v1/products/:id') && <EditForm key={state.value.id} product={state.value} onSaved={(p) => product.update(() => p)} />}
            {can('POST /api/v1/products/:id/inventory/adjustments') && <AdjustForm productId={id} onAdjusted={() => product.refresh()} />}
          </div>
          {can('GET /api/v1/holds') && <ActiveHolds productId={id} version={`${state.value.inventory.reserved}/${state.value.inventory.held}`} />}
          {can('GET /api/v1/products/:id/inventory/movements') && <Movements productId={id} version={state.value.updatedAt + state.value.inventory.onHand} />}
        </>
      )}
    </>
  );
}
