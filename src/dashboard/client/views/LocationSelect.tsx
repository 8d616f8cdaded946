import type { Location } from '../types.ts';

/** A labelled choice among the active locations (an inactive one takes no stock: the API refuses it). */
export function LocationSelect(props: { id: string; label: string; locations: Map<string, Location>; value: string; onChange: (id: string) => void; required?: boolean }) {
  const active = [...props.locations.values()].filter((l) => l.active);
  return (
    <>
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value} required={props.required} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.required && <option value="">Choose a location</option>}
        {active.map((l) => (
          <option key={l.id} value={l.id}>
            {l.code} · {l.name}
            {l.default ? ' (default)' : ''}
          </option>
        ))}
      </select>
    </>
  );
}
