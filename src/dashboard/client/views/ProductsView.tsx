import { useState } from 'preact/hooks';
import { useCan } from '../access.ts';
import { get, query } from '../api.ts';
import { useLiveEvents, useLoad, usePages } from '../hooks.ts';
import { href, navigate } from '../router.ts';
import type { Category, Page, Product } from '../types.ts';
import { PagedTable } from './PagedTable.tsx';

const PAGE = 50;

/** Applies `inventory.changed` events to the rows on screen, so stock moves without a reload. */
function withInventory(products: Product[], data: Record<string, unknown>): Product[] {
  const { productId, onHand, reserved, available } = data;
  if (typeof onHand !== 'number' || typeof reserved !== 'number' || typeof available !== 'number') return products;
  const held = typeof data.held === 'number' ? data.held : 0;
  return products.map((p) => (p.id === productId ? { ...p, inventory: { onHand, reserved, held, available } } : p));
}

/** Changing the category or the low-stock box keeps what is typed in the search box, submitted or not. */
function Filters({ q, category, low }: { q: string; category: string; low: boolean }) {
  const categories = useLoad(() => get<Page<Category>>('/api/v1/categories?limit=200'), []);
  const [text, setText] = useState(q);
  return (
    <form
      class="toolbar"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        navigate('products', { q: text.trim() || undefined, category: category || undefined, low: low ? '1' : undefined });
      }}
    >
      <label for="product-q">Search</label>
      <input id="product-q" type="search" placeholder="Name or SKU" value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <label for="product-category">Category</label>
      <select
        id="product-category"
        value={category}
        onChange={(e) => navigate('products', { q: text.trim() || undefined, category: e.currentTarget.value || undefined, low: low ? '1' : undefined })}
      >
        <option value="">All categories</option>
        {categories.state.status === 'ready' &&
          categories.state.value.items.map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
      </select>
      <label class="check">
        <input
          type="checkbox"
          checked={low}
          onChange={(e) => navigate('products', { q: text.trim() || undefined, category: category || undefined, low: e.currentTarget.checked ? '1' : undefined })}
        />{' '}
        Low stock only
      </label>
      <button type="submit">Search</button>
      {categories.state.status === 'error' && <span class="error-text">Categories: {categories.state.problem.detail}</span>}
    </form>
  );
}

export function ProductsView({ params }: { params: URLSearchParams }) {
  const q = params.get('q') ?? '';
  const category = params.get('category') ?? '';
  const low = params.get('low') === '1';
  const can = useCan();
  const products = usePages(
    (cursor) => get<Page<Product>>(`/api/v1/products${query({ q, categoryId: category, lowStock: low ? 'true' : undefined, limit: PAGE, cursor })}`),
    [q, category, low],
  );
  useLiveEvents((events) => {
    for (const event of events) if (event.type === 'inventory.changed') products.update((page) => ({ ...page, items: withInventory(page.items, event.data) }));
  });
  return (
    <>
      <div class="heading">
        <h1 tabIndex={-1}>Products</h1>
        {can('POST /api/v1/products') && (
          <a class="button primary" href={href('products/new')}>
            New product
          </a>
        )}
      </div>
      <Filters key={`${q}|${category}|${low}`} q={q} category={category} low={low} />
      <PagedTable
        pages={products}
        what="products"
        empty={q || category || low ? 'No product matches these filters.' : 'No products yet.'}
        caption="Products"
        head={
          <>
            <th scope="col">SKU</th>
            <th scope="col">Name</th>
            <th scope="col">Categories</th>
            <th scope="col" class="num">Price</th>
            <th scope="col" class="num">On hand</th>
            <th scope="col" class="num">Reserved</th>
            <th scope="col" class="num">
              <abbr title="Of reserved: kept for carts by holds">Held</abbr>
            </th>
            <th scope="col" class="num">Available</th>
            <th scope="col" class="num">Low at</th>
          </>
        }
        row={(p) => (
          <tr key={p.id} data-product={p.id}>
            <td>
              <code>{p.sku}</code>
            </td>
            <td>
              <a href={href(`products/${p.id}`)}>{p.name}</a>
            </td>
            <td>{p.categories.map((c) => c.name).join(', ') || '—'}</td>
            <td class="num">{p.price}</td>
            <td class="num" data-field="onHand">
              {p.inventory.onHand}
            </td>
            <td class="num" data-field="reserved">
              {p.inventory.reserved}
            </td>
            <td class="num" data-field="held">
              {p.inventory.held}
            </td>
            <td class="num" data-field="available">
              {p.inventory.available}
              {p.lowStockThreshold !== null && p.inventory.available <= p.lowStockThreshold && <span class="badge low"> low</span>}
            </td>
            <td class="num" data-field="lowStockThreshold">
              {p.lowStockThreshold ?? '—'}
            </td>
          </tr>
        )}
      />
    </>
  );
}
