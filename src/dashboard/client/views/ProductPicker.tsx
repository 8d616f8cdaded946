import { useState } from 'preact/hooks';
import { get, query } from '../api.ts';
import { useLoad } from '../hooks.ts';
import type { Page, Product } from '../types.ts';
import { Empty, Loading, ProblemBox } from '../ui.tsx';

/** Finds products by name or SKU and adds them to a form's lines (an order's, a transfer's). */
export function ProductPicker({ chosen, onAdd }: { chosen: Set<string>; onAdd: (product: Product) => void }) {
  const [text, setText] = useState('');
  const [q, setQ] = useState('');
  const results = useLoad(() => get<Page<Product>>(`/api/v1/products${query({ q, limit: 10 })}`), [q]);
  const state = results.state;
  return (
    <fieldset>
      <legend>Add products</legend>
      <div class="toolbar" role="search">
        <label for="pick-q">Find product</label>
        <input
          id="pick-q"
          type="search"
          placeholder="Name or SKU"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          onKeyDown={(e) => {
            // Enter searches instead of submitting the form.
            if (e.key === 'Enter') {
              e.preventDefault();
              setQ(text.trim());
            }
          }}
        />
        <button type="button" onClick={() => setQ(text.trim())}>
          Find
        </button>
      </div>
      {state.status === 'loading' && <Loading what="products" />}
      {state.status === 'error' && <ProblemBox problem={state.problem} onRetry={results.refresh} />}
      {state.status === 'ready' && state.value.items.length === 0 && <Empty>No product matches.</Empty>}
      {state.status === 'ready' && state.value.items.length > 0 && (
        <ul class="picks">
          {state.value.items.map((p) => (
            <li key={p.id}>
              <span>
                {p.name} <code>{p.sku}</code> · {p.price} · {p.inventory.available} available
              </span>
              <button type="button" disabled={chosen.has(p.id)} onClick={() => onAdd(p)} aria-label={`Add ${p.name} (${p.sku})`}>
                {chosen.has(p.id) ? 'Added' : 'Add'}
              </button>
            </li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}
