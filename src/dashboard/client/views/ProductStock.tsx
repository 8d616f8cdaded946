import { useState } from 'preact/hooks';
import { post } from '../api.ts';
import { useAction } from '../hooks.ts';
import type { Inventory, Location } from '../types.ts';
import { Empty, ProblemBox } from '../ui.tsx';
import { LocationSelect } from './LocationSelect.tsx';

/** A relative change at one location (the default one unless another is chosen). */
export function AdjustForm({ productId, locations, onAdjusted }: { productId: string; locations: Map<string, Location> | undefined; onAdjusted: (inventory: Inventory) => void }) {
  const [delta, setDelta] = useState('');
  const [reason, setReason] = useState('');
  const [locationId, setLocationId] = useState(() => [...(locations?.values() ?? [])].find((l) => l.default)?.id ?? '');
  const [done, setDone] = useState<{ inventory: Inventory; locationId: string } | undefined>();
  const action = useAction();
  const submit = async (event: Event) => {
    event.preventDefault();
    setDone(undefined);
    const body = { delta: Number(delta), reason: reason.trim(), ...(locationId ? { locationId } : {}) };
    const inventory = await action.run(() => post<Inventory>(`/api/v1/products/${productId}/inventory/adjustments`, body));
    if (inventory) {
      setDone({ inventory, locationId });
      setDelta('');
      setReason('');
      onAdjusted(inventory);
    }
  };
  const there = done && done.inventory.locations.find((l) => l.locationId === done.locationId);
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="adjust-title">
      <h2 id="adjust-title">Adjust stock</h2>
      {locations && <LocationSelect id="adjust-location" label="Location" locations={locations} value={locationId} onChange={setLocationId} />}
      <label for="adjust-delta">Change (+ received, − removed)</label>
      <input id="adjust-delta" type="number" step={1} required value={delta} onInput={(e) => setDelta(e.currentTarget.value)} />
      <label for="adjust-reason">Reason</label>
      <input id="adjust-reason" required maxLength={200} placeholder="e.g. delivery, damaged, stock take" value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
      {action.problem && <ProblemBox problem={action.problem} />}
      <div class="actions" aria-live="polite">
        <button type="submit" class="primary" disabled={action.busy}>
          {action.busy ? 'Adjusting…' : 'Adjust stock'}
        </button>
        {done && (
          <span class="ok">
            Stock adjusted{there ? ` at ${there.locationCode}: ${there.onHand} on hand there,` : ':'} {done.inventory.onHand} on hand in all.
          </span>
        )}
      </div>
    </form>
  );
}

/** The product's counts at each location it is kept at; the figures above are their sums. */
export function StockByLocation({ inventory }: { inventory: Inventory }) {
  return (
    <section class="card" aria-labelledby="by-location-title">
      <h2 id="by-location-title">Stock by location</h2>
      {inventory.locations.length === 0 ? (
        <Empty>Not kept anywhere yet.</Empty>
      ) : (
        <table class="data">
          <caption class="visually-hidden">Stock by location</caption>
          <thead>
            <tr>
              <th scope="col">Location</th>
              <CountHeads />
            </tr>
          </thead>
          <tbody>
            {inventory.locations.map((l) => (
              <tr key={l.locationId} data-location={l.locationId}>
                <th scope="row">
                  <code>{l.locationCode}</code>
                </th>
                <CountCells counts={l} />
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The counts of stock somewhere, as columns: their headings, then one row's cells. */
export function CountHeads() {
  return (
    <>
      <th scope="col" class="num">On hand</th>
      <th scope="col" class="num">Reserved</th>
      <th scope="col" class="num">Held</th>
      <th scope="col" class="num">Available</th>
      <th scope="col" class="num">Incoming</th>
      <th scope="col" class="num">Awaiting shipment</th>
    </>
  );
}

type StockCounts = { onHand: number; reserved: number; held: number; available: number; incoming: number; awaitingShipment: number };

export function CountCells({ counts }: { counts: StockCounts }) {
  return (
    <>
      <td class="num" data-field="onHand">{counts.onHand}</td>
      <td class="num" data-field="reserved">{counts.reserved}</td>
      <td class="num" data-field="held">{counts.held}</td>
      <td class="num" data-field="available">{counts.available}</td>
      <td class="num" data-field="incoming">{counts.incoming}</td>
      <td class="num" data-field="awaitingShipment">{counts.awaitingShipment}</td>
    </>
  );
}
