import { useMemo, useState } from 'preact/hooks';
import { post } from '../api.ts';
import { useAction } from '../hooks.ts';
import { idempotencyKey } from '../idempotency.ts';
import { href, navigate } from '../router.ts';
import type { Order, Product } from '../types.ts';
import { Empty, ProblemBox } from '../ui.tsx';
import { ProductPicker } from './ProductPicker.tsx';

type Line = { product: Product; quantity: string };

export function PlaceOrder() {
  const [customerId, setCustomerId] = useState('');
  const [lines, setLines] = useState<Line[]>([]);
  // One key per form: a double submit or a retry after a lost answer places the order once.
  const key = useMemo(idempotencyKey, []);
  const action = useAction();
  const chosen = new Set(lines.map((l) => l.product.id));
  const submit = async (event: Event) => {
    event.preventDefault();
    const order = await action.run(() =>
      post<Order>(
        '/api/v1/orders',
        { customerId: customerId.trim(), items: lines.map((l) => ({ productId: l.product.id, quantity: Number(l.quantity) })) },
        { 'idempotency-key': key },
      ),
    );
    if (order) navigate(`orders/${order.id}`);
  };
  return (
    <>
      <p class="crumbs">
        <a href={href('orders')}>Orders</a> /
      </p>
      <h1 tabIndex={-1}>Place order</h1>
      <form class="card form" onSubmit={submit}>
        <label for="order-customer">Customer id</label>
        <input id="order-customer" required maxLength={100} value={customerId} onInput={(e) => setCustomerId(e.currentTarget.value)} />
        <ProductPicker chosen={chosen} onAdd={(product) => setLines([...lines, { product, quantity: '1' }])} />
        <h2>Items</h2>
        {lines.length === 0 ? (
          <Empty>No items yet: find a product above and add it.</Empty>
        ) : (
          <table class="data">
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col" class="num">Available</th>
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
                  <td class="num">{line.product.inventory.available}</td>
                  <td>
                    <input
                      type="number"
                      min={1}
                      max={10000}
                      step={1}
                      required
                      aria-label={`Quantity of ${line.product.name}`}
                      value={line.quantity}
                      onInput={(e) => setLines(lines.map((l, j) => (j === i ? { ...l, quantity: e.currentTarget.value } : l)))}
                    />
                  </td>
                  <td>
                    <button type="button" onClick={() => setLines(lines.filter((_, j) => j !== i))} aria-label={`Remove ${line.product.name}`}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {action.problem && <ProblemBox problem={action.problem} />}
        <div class="actions">
          <button type="submit" class="primary" disabled={action.busy || lines.length === 0}>
            {action.busy ? 'Placing…' : 'Place order'}
          </button>
        </div>
      </form>
    </>
  );
}
