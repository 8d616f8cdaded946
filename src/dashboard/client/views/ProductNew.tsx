import { useState } from 'preact/hooks';
import { get, post } from '../api.ts';
import { useAction, useLoad } from '../hooks.ts';
import { href, navigate } from '../router.ts';
import type { Category, Page, Product } from '../types.ts';
import { ProblemBox } from '../ui.tsx';

export function ProductNew() {
  const categories = useLoad(() => get<Page<Category>>('/api/v1/categories?limit=200'), []);
  const [form, setForm] = useState({ sku: '', name: '', description: '', price: '', initialStock: '0', lowStockThreshold: '' });
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const action = useAction();
  const field = (name: keyof typeof form) => ({
    id: `product-${name}`,
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value }),
  });
  const submit = async (event: Event) => {
    event.preventDefault();
    const created = await action.run(() =>
      post<Product>('/api/v1/products', {
        sku: form.sku.trim(),
        name: form.name.trim(),
        description: form.description,
        price: form.price.trim(),
        initialStock: Number(form.initialStock),
        ...(form.lowStockThreshold.trim() === '' ? {} : { lowStockThreshold: Number(form.lowStockThreshold) }),
        ...(chosen.size > 0 ? { categoryIds: [...chosen] } : {}),
      }),
    );
    if (created) navigate(`products/${created.id}`, { created: '1' });
  };
  return (
    <>
      <p class="crumbs">
        <a href={href('products')}>Products</a> /
      </p>
      <h1 tabIndex={-1}>New product</h1>
      <form class="card form" onSubmit={submit}>
        <label for="product-sku">SKU</label>
        <input {...field('sku')} required maxLength={64} autocomplete="off" aria-describedby="sku-hint" />
        <p id="sku-hint" class="hint">
          Letters, digits, ".", "_" and "-"; unique regardless of case.
        </p>
        <label for="product-name">Name</label>
        <input {...field('name')} required maxLength={200} />
        <label for="product-description">Description</label>
        <textarea {...field('description')} rows={3} maxLength={5000} />
        <label for="product-price">Price</label>
        <input {...field('price')} required inputMode="decimal" placeholder="19.99" />
        <label for="product-initialStock">Initial stock</label>
        <input {...field('initialStock')} type="number" min={0} step={1} required />
        <label for="product-lowStockThreshold">Low-stock alert at (optional)</label>
        <input {...field('lowStockThreshold')} type="number" min={0} step={1} aria-describedby="threshold-hint" />
        <p id="threshold-hint" class="hint">
          Webhooks get <code>inventory.low</code> when available stock falls to this or below.
        </p>
        {categories.state.status === 'ready' && categories.state.value.items.length > 0 && (
          <fieldset>
            <legend>Categories</legend>
            {categories.state.value.items.map((c) => (
              <label key={c.id} class="check">
                <input
                  type="checkbox"
                  checked={chosen.has(c.id)}
                  onChange={(e) => {
                    const next = new Set(chosen);
                    if (e.currentTarget.checked) next.add(c.id);
                    else next.delete(c.id);
                    setChosen(next);
                  }}
                />{' '}
                {c.name}
              </label>
            ))}
          </fieldset>
        )}
        {action.problem && <ProblemBox problem={action.problem} />}
        <div class="actions">
          <button type="submit" class="primary" disabled={action.busy}>
            {action.busy ? 'Creating…' : 'Create product'}
          </button>
          <a href={href('products')}>Cancel</a>
        </div>
      </form>
    </>
  );
}
