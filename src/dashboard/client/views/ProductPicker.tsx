import { useState } from 'preact/hooks';
import { get, query } from '../api.ts';
import { useLoad } from '../hooks.ts';
import type { ComponentChildren } from 'preact';
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

/** A product a form is about to send, with the quantity as typed. */
export type ProductLine = { product: Product; quantity: string };

/**
 * The lines of an order or transfer being made: each product with what may be had of it
 * (`available`, under `availableTitle`), its quantity, and a button that removes it.
 */
export function ProductLines({
  lines,
  onChange,
  availableTitle,
  available,
  max,
}: {
  lines: ProductLine[];
  onChange: (lines: ProductLine[]) => void;
  availableTitle: string;
  available: (line: ProductLine) => ComponentChildren;
  max?: number;
}) {
  if (lines.length === 0) return <Empty>No items yet: find a product above and add it.</Empty>;
  return (
    <table class="data">
      <thead>
        <tr>
          <th scope="col">Product</th>
          <th scope="col" class="num">
            {availableTitle}
          </th>
          <th scope="col">Quantity</th>
          <th scope="col">
            <span class="visually-hidden">Remove</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {lines.map((line, i) => (
          <tr key={line.product.id}>
            <td>
              {line.product.name} <code>{line.product.sku}</code>
            </td>
            <td class="num">{available(line)}</td>
            <td>
              <input
                type="number"
                min={1}
                max={max}
                step={1}
                required
                aria-label={`Quantity of ${line.product.name}`}
                value={line.quantity}
                onInput={(e) => onChange(lines.map((l, j) => (j === i ? { ...l, quantity: e.currentTarget.value } : l)))}
              />
            </td>
            <td>
              <button type="button" onClick={() => onChange(lines.filter((_, j) => j !== i))} aria-label={`Remove ${line.product.name}`}>
                Remove
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
