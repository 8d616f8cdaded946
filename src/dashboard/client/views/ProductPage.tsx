import { useState } from 'preact/hooks';
import { useCan } from '../access.ts';
import { get, patch, query } from '../api.ts';
import { dateTime, relative, shortId } from '../format.ts';
import { useAction, useDebounced, useLiveEvents, useLoad, usePages } from '../hooks.ts';
import { loadLocations, locationCode } from '../locations.ts';
import { href } from '../router.ts';
import type { Hold, Inventory, Location, Movement, Page, Product } from '../types.ts';
import { PagePending, ProblemBox } from '../ui.tsx';
import { PagedTable } from './PagedTable.tsx';
import { AdjustForm, StockByLocation } from './ProductStock.tsx';

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

/** A movement's reason, linked to what it was for: its order, or its transfer. */
function reasonLink(m: Movement) {
  if (m.orderId) return <a href={href(`orders/${m.orderId}`)}>{m.reason}</a>;
  if (m.transferId) return <a href={href(`transfers/${m.transferId}`)}>{m.reason}</a>;
  return m.reason;
}

/** The stock ledger (admin, warehouse and read-only credentials). */
function Movements({ productId, locations, version }: { productId: string; locations: Map<string, Location> | undefined; version: string }) {
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
            <th scope="col">Location</th>
            <th scope="col" class="num">Change</th>
            <th scope="col">Reason</th>
            <th scope="col" class="num">On hand there after</th>
          </>
        }
        row={(m) => (
          <tr key={m.id}>
            <td>{dateTime(m.createdAt)}</td>
            <td>{locationCode(locations, m.locationId)}</td>
            <td class="num">{m.delta > 0 ? `+${m.delta}` : m.delta}</td>
            <td>{reasonLink(m)}</td>
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

type Details = { product: Product; inventory: Inventory; locations: Map<string, Location> | undefined };

/** The product, its stock per location, and the locations a stock write may name (when the credential may read them). */
async function loadDetails(id: string, mayReadLocations: boolean): Promise<Details> {
  const [product, inventory, locations] = await Promise.all([
    get<Product>(`/api/v1/products/${id}`),
    get<Inventory>(`/api/v1/products/${id}/inventory`),
    mayReadLocations ? loadLocations() : undefined,
  ]);
  return { product, inventory, locations };
}

function ProductDetails({ details, onChanged, onRefresh }: { details: Details; onChanged: (change: (details: Details) => Details) => void; onRefresh: () => void }) {
  const can = useCan();
  const { product, inventory } = details;
  return (
    <>
      <h1 tabIndex={-1}>
        {product.name} <code class="sku">{product.sku}</code>
      </h1>
      {product.archived && <p class="notice">Archived: it can no longer be ordered.</p>}
      <dl class="stock" aria-label="Stock">
        <div>
          <dt>On hand</dt>
          <dd data-field="onHand">{inventory.onHand}</dd>
        </div>
        <div>
          <dt>Reserved</dt>
          <dd data-field="reserved">{inventory.reserved}</dd>
        </div>
        <div>
          <dt>
            <abbr title="Of reserved: kept for carts by holds, until converted into orders, released or expired">Held</abbr>
          </dt>
          <dd data-field="held">{inventory.held}</dd>
        </div>
        <div>
          <dt>Available</dt>
          <dd data-field="available">{inventory.available}</dd>
        </div>
      </dl>
      <StockByLocation inventory={inventory} />
      <div class="columns">
        {can('PATCH /api/v1/products/:id') && <EditForm key={product.id} product={product} onSaved={(p) => onChanged((d) => ({ ...d, product: p }))} />}
        {can('POST /api/v1/products/:id/inventory/adjustments') && <AdjustForm productId={product.id} locations={details.locations} onAdjusted={onRefresh} />}
      </div>
      {can('GET /api/v1/holds') && <ActiveHolds productId={product.id} version={`${inventory.reserved}/${inventory.held}`} />}
      {can('GET /api/v1/products/:id/inventory/movements') && <Movements productId={product.id} locations={details.locations} version={inventory.updatedAt + inventory.onHand} />}
    </>
  );
}

export function ProductPage({ id }: { id: string }) {
  const can = useCan();
  const details = useLoad(() => loadDetails(id, can('GET /api/v1/locations')), [id]);
  const refresh = useDebounced(() => void details.refresh(), 200);
  useLiveEvents((events) => {
    if (events.some((e) => (e.type === 'inventory.changed' && e.data.productId === id) || e.type === 'hold.expired')) refresh();
  });
  const state = details.state;
  return (
    <>
      <p class="crumbs">
        <a href={href('products')}>Products</a> /
      </p>
      <PagePending state={state} title="Product" what="the product" onRetry={details.refresh} />
      {state.status === 'ready' && <ProductDetails details={state.value} onChanged={(change) => details.update(change)} onRefresh={() => void details.refresh()} />}
    </>
  );
}
