import { useState } from 'preact/hooks';
import { useCan } from '../access.ts';
import { del, get, patch, query } from '../api.ts';
import { dateTime } from '../format.ts';
import { useAction, useDebounced, useLiveEvents, useLoad, usePages } from '../hooks.ts';
import { href, navigate } from '../router.ts';
import type { Location, LocationStock, Page } from '../types.ts';
import { ConfirmButton, PagePending, ProblemBox } from '../ui.tsx';
import { PagedTable } from './PagedTable.tsx';
import { CountCells, CountHeads } from './ProductStock.tsx';

/** Name, priority, active: what may change. Deactivating the default location is the API's to refuse (its detail is shown). */
function EditForm({ location, onSaved }: { location: Location; onSaved: (location: Location) => void }) {
  const [form, setForm] = useState({ name: location.name, priority: String(location.priority), active: location.active });
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    setSaved(false);
    const updated = await action.run(() => patch<Location>(`/api/v1/locations/${location.id}`, { name: form.name.trim(), priority: Number(form.priority), active: form.active }));
    if (updated) {
      setSaved(true);
      onSaved(updated);
    }
  };
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="edit-location-title">
      <h2 id="edit-location-title">Details</h2>
      <label for="edit-location-name">Name</label>
      <input id="edit-location-name" required maxLength={200} value={form.name} onInput={(e) => (setSaved(false), setForm({ ...form, name: e.currentTarget.value }))} />
      <label for="edit-location-priority">Priority (lower first)</label>
      <input
        id="edit-location-priority"
        type="number"
        min={0}
        max={1_000_000}
        step={1}
        required
        value={form.priority}
        onInput={(e) => (setSaved(false), setForm({ ...form, priority: e.currentTarget.value }))}
      />
      <div>
        <label class="check">
        <input type="checkbox" checked={form.active} onChange={(e) => (setSaved(false), setForm({ ...form, active: e.currentTarget.checked }))} /> Active (orders may take stock
        from it)
      </label>
      </div>
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

/** Only an empty location goes: the API says what keeps one (409), and that is shown as it says it. */
function DeleteLocation({ location }: { location: Location }) {
  const action = useAction();
  const remove = async () => {
    const deleted = await action.run(async () => {
      await del(`/api/v1/locations/${location.id}`);
      return true;
    });
    if (deleted) navigate('locations');
  };
  return (
    <section class="card" aria-labelledby="delete-location-title">
      <h2 id="delete-location-title">Delete</h2>
      <p class="hint">Only a location that holds nothing (on hand, reserved, incoming, awaiting shipment) and that no transfer in transit names; never the default one.</p>
      <div class="actions" aria-live="polite">
        <ConfirmButton label="Delete location" confirm={`Delete ${location.code}?`} danger busy={action.busy} onConfirm={() => void remove()} />
      </div>
      {action.problem && <ProblemBox problem={action.problem} />}
    </section>
  );
}

/** Each product kept there, with its counts at this location. */
function Stock({ location }: { location: Location }) {
  const stock = usePages((cursor) => get<Page<LocationStock>>(`/api/v1/locations/${location.id}/inventory${query({ limit: 50, cursor })}`), [location.id]);
  const refresh = useDebounced(() => void stock.refresh(), 300);
  // An inventory event names the locations whose counts it changed.
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'inventory.changed' && (!Array.isArray(e.data.locationIds) || e.data.locationIds.includes(location.id)))) refresh();
  });
  return (
    <section class="card" aria-labelledby="location-stock-title">
      <h2 id="location-stock-title">Stock here</h2>
      <PagedTable
        pages={stock}
        what="the stock"
        empty="Nothing has been kept here yet."
        caption={`Stock at ${location.code}, by product`}
        head={
          <>
            <th scope="col">Product</th>
            <CountHeads />
          </>
        }
        row={(s) => (
          <tr key={s.productId} data-product={s.productId}>
            <td>
              <a href={href(`products/${s.productId}`)}>
                <code>{s.sku}</code>
              </a>
            </td>
            <CountCells counts={s} />
          </tr>
        )}
      />
    </section>
  );
}

export function LocationPage({ id }: { id: string }) {
  const can = useCan();
  const location = useLoad(() => get<Location>(`/api/v1/locations/${id}`), [id]);
  const state = location.state;
  return (
    <>
      <p class="crumbs">
        <a href={href('locations')}>Locations</a> /
      </p>
      <PagePending state={state} title="Location" what="the location" onRetry={location.refresh} />
      {state.status === 'ready' && (
        <>
          <h1 tabIndex={-1}>
            {state.value.name} <code class="sku">{state.value.code}</code>
          </h1>
          <p class="hint">
            {state.value.kind === 'store' ? 'Store' : 'Warehouse'} · priority {state.value.priority} · {state.value.active ? 'active' : 'inactive: never allocated from'}
            {state.value.default && ' · the default location: stock changes that name no location go here'} · created {dateTime(state.value.createdAt)}
          </p>
          {can('PATCH /api/v1/locations/:id') && <EditForm key={state.value.id} location={state.value} onSaved={(l) => location.update(() => l)} />}
          <Stock location={state.value} />
          {can('DELETE /api/v1/locations/:id') && <DeleteLocation location={state.value} />}
        </>
      )}
    </>
  );
}
