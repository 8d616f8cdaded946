import { useState } from 'preact/hooks';
import { useCan } from '../access.ts';
import { get, post, query } from '../api.ts';
import { useAction, useDebounced, useLiveEvents, usePages } from '../hooks.ts';
import { href } from '../router.ts';
import type { Location, Page } from '../types.ts';
import { ProblemBox } from '../ui.tsx';
import { PagedTable } from './PagedTable.tsx';

const KINDS = [
  { kind: 'warehouse', text: 'Warehouse' },
  { kind: 'store', text: 'Store (e.g. pickup)' },
] as const;

function CreateForm({ onCreated }: { onCreated: (location: Location) => void }) {
  const [form, setForm] = useState({ code: '', name: '', kind: 'warehouse' as Location['kind'], priority: '100', active: true });
  const [created, setCreated] = useState<Location | undefined>();
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    setCreated(undefined);
    const location = await action.run(() =>
      post<Location>('/api/v1/locations', { code: form.code.trim(), name: form.name.trim(), kind: form.kind, priority: Number(form.priority), active: form.active }),
    );
    if (location) {
      setCreated(location);
      setForm({ ...form, code: '', name: '' });
      onCreated(location);
    }
  };
  const set = (name: 'code' | 'name' | 'priority') => (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value });
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="new-location-title">
      <h2 id="new-location-title">Add a location</h2>
      <label for="location-code">Code</label>
      <input id="location-code" required maxLength={64} autocomplete="off" value={form.code} onInput={set('code')} aria-describedby="location-code-hint" />
      <p id="location-code-hint" class="hint">
        Letters, digits, ".", "_" and "-"; unique regardless of case. The warehouse protocol names it (<code>location</code>).
      </p>
      <label for="location-name">Name</label>
      <input id="location-name" required maxLength={200} value={form.name} onInput={set('name')} />
      <label for="location-kind">Kind</label>
      <select id="location-kind" value={form.kind} onChange={(e) => setForm({ ...form, kind: e.currentTarget.value as Location['kind'] })}>
        {KINDS.map((k) => (
          <option key={k.kind} value={k.kind}>
            {k.text}
          </option>
        ))}
      </select>
      <label for="location-priority">Priority (lower first)</label>
      <input id="location-priority" type="number" min={0} max={1_000_000} step={1} required value={form.priority} onInput={set('priority')} />
      <div>
        <label class="check">
        <input type="checkbox" checked={form.active} onChange={(e) => setForm({ ...form, active: e.currentTarget.checked })} /> Active (orders may take stock from it)
      </label>
      </div>
      {action.problem && <ProblemBox problem={action.problem} />}
      <div class="actions" aria-live="polite">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Adding…' : 'Add location'}
        </button>
        {created && (
          <span class="ok">
            Added <a href={href(`locations/${created.id}`)}>{created.code}</a>.
          </span>
        )}
      </div>
    </form>
  );
}

export function LocationsView() {
  const can = useCan();
  const locations = usePages((cursor) => get<Page<Location>>(`/api/v1/locations${query({ withTotals: 'true', limit: 50, cursor })}`), []);
  // The totals follow the stock: read again once a burst of stock changes is over.
  const refresh = useDebounced(() => void locations.refresh(), 500);
  useLiveEvents((events) => {
    if (events.some((e) => e.type === 'inventory.changed')) refresh();
  });
  return (
    <>
      <h1 tabIndex={-1}>Locations</h1>
      <p class="hint">
        Where stock is kept. Orders take their units from the active locations (split over several when no one has enough); a location is deleted only
        when it holds nothing.
      </p>
      {can('POST /api/v1/locations') && <CreateForm onCreated={() => void locations.refresh()} />}
      <PagedTable
        pages={locations}
        what="locations"
        empty="No location yet."
        caption="Locations by priority, with what each holds over every product"
        head={
          <>
            <th scope="col">Code</th>
            <th scope="col">Name</th>
            <th scope="col">Kind</th>
            <th scope="col" class="num">Priority</th>
            <th scope="col">State</th>
            <th scope="col" class="num">Products</th>
            <th scope="col" class="num">On hand</th>
            <th scope="col" class="num">Reserved</th>
            <th scope="col" class="num">Available</th>
            <th scope="col" class="num">Incoming</th>
            <th scope="col" class="num">Awaiting shipment</th>
          </>
        }
        row={(l) => (
          <tr key={l.id} data-location={l.id}>
            <td>
              <a href={href(`locations/${l.id}`)}>
                <code>{l.code}</code>
              </a>
            </td>
            <td>{l.name}</td>
            <td>{l.kind}</td>
            <td class="num">{l.priority}</td>
            <td>
              {l.active ? 'Active' : <span class="badge inactive">Inactive</span>}
              {l.default && <span class="badge default"> Default</span>}
            </td>
            <td class="num" data-field="products">{l.totals?.products ?? '—'}</td>
            <td class="num" data-field="onHand">{l.totals?.onHand ?? '—'}</td>
            <td class="num" data-field="reserved">{l.totals?.reserved ?? '—'}</td>
            <td class="num" data-field="available">{l.totals?.available ?? '—'}</td>
            <td class="num" data-field="incoming">{l.totals?.incoming ?? '—'}</td>
            <td class="num" data-field="awaitingShipment">{l.totals?.awaitingShipment ?? '—'}</td>
          </tr>
        )}
      />
    </>
  );
}
