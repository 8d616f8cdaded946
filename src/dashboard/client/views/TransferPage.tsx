import { useState } from 'preact/hooks';
import { useCan } from '../access.ts';
import { get, post } from '../api.ts';
import { dateTime, shortId } from '../format.ts';
import { useAction, useLiveEvents, useLoad } from '../hooks.ts';
import { loadLocations, locationCode } from '../locations.ts';
import { href } from '../router.ts';
import type { Location, Product, Transfer } from '../types.ts';
import { ConfirmButton, Loading, ProblemBox, TransferBadge } from '../ui.tsx';

type Details = { transfer: Transfer; products: Map<string, Product>; locations: Map<string, Location> | undefined };

async function loadDetails(id: string, mayReadLocations: boolean): Promise<Details> {
  const [transfer, locations] = await Promise.all([get<Transfer>(`/api/v1/transfers/${id}`), mayReadLocations ? loadLocations() : undefined]);
  // Names make the items readable; an item whose product cannot be read still shows its id.
  const products = await Promise.all(transfer.items.map((item) => get<Product>(`/api/v1/products/${item.productId}`).catch(() => undefined)));
  return { transfer, locations, products: new Map(products.filter((p) => p !== undefined).map((p) => [p.id, p])) };
}

const productName = (details: Details, productId: string) => {
  const product = details.products.get(productId);
  return product ? `${product.name} (${product.sku})` : productId;
};

function locationLink(details: Details, locationId: string) {
  const code = locationCode(details.locations, locationId);
  return details.locations?.has(locationId) ? <a href={href(`locations/${locationId}`)}>{code}</a> : code;
}

/** What arrived, per item: it starts at what is still in transit (everything arrived); receiving in parts is lowering it. */
function ReceiveForm({ details, onDone }: { details: Details; onDone: () => void }) {
  const open = details.transfer.items.filter((item) => item.quantity > item.received);
  const [quantities, setQuantities] = useState<Record<string, string>>(Object.fromEntries(open.map((item) => [item.productId, String(item.quantity - item.received)])));
  const action = useAction();
  const items = open.map((item) => ({ productId: item.productId, quantity: Number(quantities[item.productId] || 0) })).filter((item) => item.quantity > 0);
  const submit = async (event: Event) => {
    event.preventDefault();
    if (await action.run(() => post<Transfer>(`/api/v1/transfers/${details.transfer.id}/receive`, { items }))) onDone();
  };
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="receive-title">
      <h2 id="receive-title">Receive at {locationCode(details.locations, details.transfer.toLocationId)}</h2>
      <p class="hint">What arrived now; the rest stays in transit until a later receipt (or a cancel sends it back).</p>
      {open.map((item) => (
        <div key={item.productId}>
          <label for={`receive-${item.productId}`}>Received of {productName(details, item.productId)}</label>
          <input
            id={`receive-${item.productId}`}
            type="number"
            min={0}
            step={1}
            value={quantities[item.productId]}
            onInput={(e) => setQuantities({ ...quantities, [item.productId]: e.currentTarget.value })}
          />
        </div>
      ))}
      {action.problem && <ProblemBox problem={action.problem} />}
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy || items.length === 0}>
          {action.busy ? 'Receiving…' : 'Receive'}
        </button>
      </div>
    </form>
  );
}

function Items({ details }: { details: Details }) {
  return (
    <section class="card" aria-labelledby="transfer-items-title">
      <h2 id="transfer-items-title">Items</h2>
      <table class="data">
        <thead>
          <tr>
            <th scope="col">Product</th>
            <th scope="col" class="num">Sent</th>
            <th scope="col" class="num">Received</th>
            <th scope="col" class="num">In transit</th>
          </tr>
        </thead>
        <tbody>
          {details.transfer.items.map((item) => (
            <tr key={item.productId} data-product={item.productId}>
              <td>
                <a href={href(`products/${item.productId}`)}>{productName(details, item.productId)}</a>
              </td>
              <td class="num" data-field="quantity">{item.quantity}</td>
              <td class="num" data-field="received">{item.received}</td>
              <td class="num" data-field="inTransit">{details.transfer.status === 'in_transit' ? item.quantity - item.received : 0}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function CancelTransfer({ details, onDone }: { details: Details; onDone: () => void }) {
  const action = useAction();
  const cancel = async () => {
    if (await action.run(() => post<Transfer>(`/api/v1/transfers/${details.transfer.id}/cancel`))) onDone();
  };
  return (
    <div class="actions" aria-live="polite">
      <ConfirmButton
        label="Cancel transfer"
        confirm={`Send what is still in transit back to ${locationCode(details.locations, details.transfer.fromLocationId)}?`}
        danger
        busy={action.busy}
        onConfirm={() => void cancel()}
      />
      {action.problem && <ProblemBox problem={action.problem} />}
    </div>
  );
}

export function TransferPage({ id }: { id: string }) {
  const can = useCan();
  const details = useLoad(() => loadDetails(id, can('GET /api/v1/locations')), [id]);
  // Received elsewhere meanwhile (another screen, the warehouse's own system): shown as it happens.
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'transfer.received' && e.data.id === id)) void details.refresh();
  });
  const state = details.state;
  const inTransit = state.status === 'ready' && state.value.transfer.status === 'in_transit';
  return (
    <>
      <p class="crumbs">
        <a href={href('transfers')}>Transfers</a> /
      </p>
      <div class="heading">
        <h1 tabIndex={-1} title={id}>
          Transfer <code>{shortId(id)}</code>
        </h1>
        {inTransit && can('POST /api/v1/transfers/:id/cancel') && <CancelTransfer details={state.value} onDone={() => void details.refresh()} />}
      </div>
      {state.status === 'loading' && <Loading what="the transfer" />}
      {state.status === 'error' && <ProblemBox problem={state.problem} onRetry={details.refresh} />}
      {state.status === 'ready' && (
        <>
          <dl class="facts card">
            <dt>Status</dt>
            <dd data-field="status">
              <TransferBadge status={state.value.transfer.status} />
            </dd>
            <dt>From</dt>
            <dd>{locationLink(state.value, state.value.transfer.fromLocationId)}</dd>
            <dt>To</dt>
            <dd>{locationLink(state.value, state.value.transfer.toLocationId)}</dd>
            <dt>Sent</dt>
            <dd>{dateTime(state.value.transfer.createdAt)}</dd>
            <dt>Updated</dt>
            <dd>{dateTime(state.value.transfer.updatedAt)}</dd>
          </dl>
          <Items details={state.value} />
          {inTransit && can('POST /api/v1/transfers/:id/receive') && (
            <ReceiveForm key={state.value.transfer.updatedAt} details={state.value} onDone={() => void details.refresh()} />
          )}
        </>
      )}
    </>
  );
}
