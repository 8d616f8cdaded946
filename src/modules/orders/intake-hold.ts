import { AppError, conflict } from '../../lib/errors.ts';
import type { HoldLink } from '../holds/hold-keeper.ts';
import type { Line } from './allocations.ts';

/**
 * An order placed with a hold (`holdId`, API.md's `POST /api/v1/orders`): an active hold of its
 * customer, with exactly its lines, gives the order its stock where it is held; an expired or
 * released one gives nothing (the order reserves afresh like any other); anything else is refused.
 * Decided in the order's stock batch, which holds the locks of all the hold's products (its lines
 * are the hold's), on the batch's copy of the hold (`kept`). True: the order takes the hold's stock
 * (`HoldLink.convert`, the last thing its intake does: nothing after it may throw).
 */
export function holdFor(link: HoldLink, kept: unknown, input: { customerId: string; items: readonly Line[]; holdId: string }): boolean {
  const hold = link.find(kept, input.holdId);
  if (!hold || (hold.customerId !== null && hold.customerId !== input.customerId)) {
    throw new AppError('validation', `hold ${input.holdId} is not a hold of customer ${input.customerId}`, [
      { path: 'body.holdId', message: "is not a hold of this order's customer" },
    ]);
  }
  if (hold.status === 'converted') throw conflict('this hold has already been turned into an order', { holdStatus: hold.status });
  if (hold.status !== 'active') return false;
  if (!sameLines(hold.items, input.items)) {
    throw new AppError('validation', "an order placed with a hold takes exactly the hold's items", [
      { path: 'body.items', message: "must be the hold's items: the same products and quantities" },
    ]);
  }
  return true;
}

const sameLines = (a: readonly Line[], b: readonly Line[]) => {
  const key = (lines: readonly Line[]) => JSON.stringify(lines.map((l) => [l.productId, l.quantity]).sort());
  return key(a) === key(b);
};
