import { useMemo, useState } from 'preact/hooks';
import { post } from '../api.ts';
import { useAction } from '../hooks.ts';
import { idempotencyKey } from '../idempotency.ts';
import { href, navigate } from '../router.ts';
import type { Order } from '../types.ts';
import { ProblemBox } from '../ui.tsx';
import { ProductLines, ProductPicker, type ProductLine } from './ProductPicker.tsx';

export function PlaceOrder() {
  const [customerId, setCustomerId] = useState('');
  const [lines, setLines] = useState<ProductLine[]>([]);
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
        <ProductLines lines={lines} onChange={setLines} availableTitle="Available" available={(line) => line.product.inventory.available} max={10000} />
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
