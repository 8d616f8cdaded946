import { useState } from 'preact/hooks';
import { useCan } from '../access.ts';
import { post } from '../api.ts';
import { dateTime, shortId } from '../format.ts';
import { useAction } from '../hooks.ts';
import type { Fulfilment, Order, Product, Return } from '../types.ts';
import { ProblemBox } from '../ui.tsx';

/** What the shipping part of an order page needs: the order, product names, location codes. */
export type ShippingProps = { order: Order; products: Map<string, Product>; places: Map<string, string>; onChanged: () => void };

const nameOf = (products: Map<string, Product>, productId: string) => products.get(productId)?.name ?? productId;
const placeOf = (places: Map<string, string>, locationId: string) => places.get(locationId) ?? shortId(locationId);
const units = (lines: { productId: string; quantity: number }[], products: Map<string, Product>) => lines.map((l) => `${l.quantity} × ${nameOf(products, l.productId)}`).join(', ');

/** Units allocated and not shipped yet, by location, then product. */
function unshipped(order: Order): Map<string, Map<string, number>> {
  const left = new Map<string, Map<string, number>>();
  const add = (locationId: string, productId: string, n: number) => {
    const at = left.get(locationId) ?? new Map<string, number>();
    at.set(productId, (at.get(productId) ?? 0) + n);
    left.set(locationId, at);
  };
  for (const item of order.items) for (const a of item.allocations) add(a.locationId, item.productId, a.quantity);
  for (const f of order.fulfilments) for (const line of f.items) add(f.locationId, line.productId, -line.quantity);
  for (const [locationId, at] of left) if ([...at.values()].every((n) => n <= 0)) left.delete(locationId);
  return left;
}

/** A form's quantities, one per product, as typed. */
function useQuantities() {
  const [quantities, setQuantities] = useState<Record<string, string>>({});
  const chosen = (lines: string[]) => lines.map((productId) => ({ productId, quantity: Number(quantities[productId] ?? '0') })).filter((l) => l.quantity > 0);
  return { quantities, setQuantity: (productId: string, value: string) => setQuantities({ ...quantities, [productId]: value }), chosen, reset: () => setQuantities({}) };
}

function ShipPartForm({ order, products, places, onChanged }: ShippingProps) {
  const left = unshipped(order);
  const [locationId, setLocationId] = useState('');
  const [tracking, setTracking] = useState('');
  const form = useQuantities();
  const action = useAction();
  const from = left.has(locationId) ? locationId : ([...left.keys()][0] ?? '');
  const here = [...(left.get(from) ?? [])].filter(([, n]) => n > 0);
  const submit = async (event: Event) => {
    event.preventDefault();
    const items = form.chosen(here.map(([productId]) => productId));
    const made = await action.run(() => post<Fulfilment>(`/api/v1/orders/${order.id}/fulfilments`, { locationId: from, items, ...(tracking.trim() ? { trackingNumber: tracking.trim() } : {}) }));
    if (made) {
      form.reset();
      setTracking('');
      onChanged();
    }
  };
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="parcel-title">
      <h2 id="parcel-title">Ship a parcel</h2>
      <label for="parcel-from">From</label>
      <select id="parcel-from" value={from} onChange={(e) => setLocationId(e.currentTarget.value)}>
        {[...left.keys()].map((id) => (
          <option key={id} value={id}>
            {placeOf(places, id)}
          </option>
        ))}
      </select>
      {here.map(([productId, max]) => (
        <div key={productId}>
          <label for={`parcel-${productId}`}>{`Units of ${nameOf(products, productId)} (up to ${max})`}</label>
          <input id={`parcel-${productId}`} type="number" min={0} max={max} step={1} value={form.quantities[productId] ?? ''} onInput={(e) => form.setQuantity(productId, e.currentTarget.value)} />
        </div>
      ))}
      <label for="parcel-tracking">Tracking number (optional)</label>
      <input id="parcel-tracking" maxLength={200} value={tracking} onInput={(e) => setTracking(e.currentTarget.value)} />
      {action.problem && <ProblemBox problem={action.problem} />}
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Shipping…' : 'Ship parcel'}
        </button>
      </div>
    </form>
  );
}

function ReturnForm({ order, products, places, onChanged }: ShippingProps) {
  const returnable = order.items.filter((item) => item.shipped > item.returned);
  const [locationId, setLocationId] = useState('');
  const [damaged, setDamaged] = useState<Record<string, boolean>>({});
  const [refund, setRefund] = useState(true);
  const [done, setDone] = useState<Return | undefined>();
  const form = useQuantities();
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    setDone(undefined);
    const items = form.chosen(returnable.map((i) => i.productId)).map((l) => ({ ...l, disposition: damaged[l.productId] ? 'damaged' : 'restock' }));
    const made = await action.run(() => post<Return>(`/api/v1/orders/${order.id}/returns`, { items, refund, ...(locationId ? { locationId } : {}) }));
    if (made) {
      setDone(made);
      form.reset();
      onChanged();
    }
  };
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="return-title">
      <h2 id="return-title">Record a return</h2>
      {returnable.map((item) => (
        <div key={item.productId}>
          <label for={`return-${item.productId}`}>{`Units of ${nameOf(products, item.productId)} back (up to ${item.shipped - item.returned})`}</label>
          <input id={`return-${item.productId}`} type="number" min={0} max={item.shipped - item.returned} step={1} value={form.quantities[item.productId] ?? ''} onInput={(e) => form.setQuantity(item.productId, e.currentTarget.value)} />
          <label class="check">
            <input type="checkbox" checked={damaged[item.productId] ?? false} onChange={(e) => setDamaged({ ...damaged, [item.productId]: e.currentTarget.checked })} />
            {`Damaged (not put back on sale): ${nameOf(products, item.productId)}`}
          </label>
        </div>
      ))}
      <label for="return-to">Came back to</label>
      <select id="return-to" value={locationId} onChange={(e) => setLocationId(e.currentTarget.value)}>
        <option value="">Where it shipped from</option>
        {[...places].map(([id, code]) => (
          <option key={id} value={id}>
            {code}
          </option>
        ))}
      </select>
      <label class="check">
        <input type="checkbox" checked={refund} onChange={(e) => setRefund(e.currentTarget.checked)} />
        Refund the returned units
      </label>
      {action.problem && <ProblemBox problem={action.problem} />}
      <div class="actions" aria-live="polite">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Recording…' : 'Record return'}
        </button>
        {done && <span class="ok">{done.refund ? `Return recorded; refund of ${done.refund.amount} ${done.refund.status}.` : 'Return recorded, no refund.'}</span>}
      </div>
    </form>
  );
}

function Documents({ order, products, places }: ShippingProps) {
  if (order.fulfilments.length === 0 && order.returns.length === 0) return null;
  return (
    <section class="card wide" aria-labelledby="documents-title">
      <h2 id="documents-title">Parcels and returns</h2>
      <ul class="documents">
        {order.fulfilments.map((f) => (
          <li key={f.id} data-fulfilment={f.id}>
            <time dateTime={f.createdAt}>{dateTime(f.createdAt)}</time> Parcel from {placeOf(places, f.locationId)}: {units(f.items, products)}
            {f.trackingNumber && <> (tracking <code>{f.trackingNumber}</code>)</>}
          </li>
        ))}
        {order.returns.map((r) => (
          <li key={r.id} data-return={r.id}>
            <time dateTime={r.createdAt}>{dateTime(r.createdAt)}</time> Return to {placeOf(places, r.locationId)}:{' '}
            {r.items.map((l) => `${l.quantity} × ${nameOf(products, l.productId)} (${l.disposition})`).join(', ')}
            {'; '}
            <span data-field="refund">{r.refund ? `refund of ${r.refund.amount} ${r.refund.status}` : 'no refund'}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** A paid order's parcels and returns, and the forms that make them (for credentials that may). */
export function OrderShipping(props: ShippingProps) {
  const can = useCan();
  const { order } = props;
  const canShip = order.status === 'processed' && unshipped(order).size > 0 && can('POST /api/v1/orders/:id/fulfilments');
  const canReturn = order.items.some((item) => item.shipped > item.returned) && can('POST /api/v1/orders/:id/returns');
  return (
    <>
      <Documents {...props} />
      {(canShip || canReturn) && (
        <div class="columns">
          {canShip && <ShipPartForm {...props} />}
          {canReturn && <ReturnForm {...props} />}
        </div>
      )}
    </>
  );
}
