import { useMemo, useState } from 'preact/hooks';
import { get, post } from '../api.ts';
import { useAction, useLoad } from '../hooks.ts';
import { idempotencyKey } from '../idempotency.ts';
import { useLocations } from '../locations.ts';
import { href, navigate } from '../router.ts';
import type { Inventory, Location, Transfer } from '../types.ts';
import { Loading, ProblemBox } from '../ui.tsx';
import { LocationSelect } from './LocationSelect.tsx';
import { ProductLines, ProductPicker, type ProductLine } from './ProductPicker.tsx';

/** What the source can send of a product: its available there (the API refuses more, 409). */
function AvailableAt({ productId, locationId }: { productId: string; locationId: string }) {
  const inventory = useLoad(() => get<Inventory>(`/api/v1/products/${productId}/inventory`), [productId]);
  const state = inventory.state;
  if (!locationId) return <>—</>;
  if (state.status === 'loading') return <>…</>;
  if (state.status === 'error') return <span class="error-text">{state.problem.detail}</span>;
  return <>{state.value.locations.find((l) => l.locationId === locationId)?.available ?? 0}</>;
}

function TransferForm({ locations }: { locations: Map<string, Location> }) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [lines, setLines] = useState<ProductLine[]>([]);
  // One key per form: a double submit or a retry after a lost answer makes one transfer.
  const key = useMemo(idempotencyKey, []);
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    const transfer = await action.run(() =>
      post<Transfer>(
        '/api/v1/transfers',
        { fromLocationId: from, toLocationId: to, items: lines.map((l) => ({ productId: l.product.id, quantity: Number(l.quantity) })) },
        { 'idempotency-key': key },
      ),
    );
    if (transfer) navigate(`transfers/${transfer.id}`);
  };
  return (
    <form class="card form" onSubmit={submit}>
      <LocationSelect id="transfer-from" label="From" locations={locations} value={from} onChange={setFrom} required />
      <LocationSelect id="transfer-to" label="To" locations={locations} value={to} onChange={setTo} required />
      <ProductPicker chosen={new Set(lines.map((l) => l.product.id))} onAdd={(product) => setLines([...lines, { product, quantity: '1' }])} />
      <h2>Items</h2>
      <ProductLines lines={lines} onChange={setLines} availableTitle="Available at the source" available={(line) => <AvailableAt productId={line.product.id} locationId={from} />} />
      {action.problem && <ProblemBox problem={action.problem} />}
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy || lines.length === 0}>
          {action.busy ? 'Sending…' : 'Send transfer'}
        </button>
        <a href={href('transfers')}>Cancel</a>
      </div>
    </form>
  );
}

export function TransferNew() {
  const locations = useLocations();
  const state = locations.state;
  return (
    <>
      <p class="crumbs">
        <a href={href('transfers')}>Transfers</a> /
      </p>
      <h1 tabIndex={-1}>New transfer</h1>
      <p class="hint">The units leave the source's on hand when the transfer is sent, and are incoming at the destination until received there.</p>
      {state.status === 'loading' && <Loading what="the locations" />}
      {state.status === 'error' && <ProblemBox problem={state.problem} onRetry={locations.refresh} />}
      {state.status === 'ready' && <TransferForm locations={state.value} />}
    </>
  );
}
