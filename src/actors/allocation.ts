/**
 * Where a line's units come from, when a product is stocked at several locations (API.md, "Stock
 * at several locations"). Each strategy is a pure function of the line's quantity and the
 * locations it may use, deterministic, and never takes more than a location's available: it
 * answers every unit of the line, or null when the locations together have too few.
 */
export type Candidate = { locationId: string; code: string; priority: number; available: number };
export type Allocation = { locationId: string; quantity: number };
export type AllocationStrategy = 'fewest-splits' | 'priority' | 'most-stock';
export const allocationStrategies: readonly AllocationStrategy[] = ['fewest-splits', 'priority', 'most-stock'];

const byPriority = (a: Candidate, b: Candidate) => a.priority - b.priority || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
const byStock = (a: Candidate, b: Candidate) => b.available - a.available || byPriority(a, b);

/** Takes from the candidates in this order, each as much as it has, until the line is covered. */
function inOrder(quantity: number, ordered: Candidate[]): Allocation[] | null {
  const allocations: Allocation[] = [];
  let left = quantity;
  for (const candidate of ordered) {
    if (left === 0) break;
    const take = Math.min(left, candidate.available);
    if (take <= 0) continue;
    allocations.push({ locationId: candidate.locationId, quantity: take });
    left -= take;
  }
  return left === 0 ? allocations : null;
}

/** Ascending priority, then code. */
export function byPriorityOrder(quantity: number, candidates: Candidate[]): Allocation[] | null {
  return inOrder(quantity, [...candidates].sort(byPriority));
}

/** Descending available, then priority. */
export function mostStock(quantity: number, candidates: Candidate[]): Allocation[] | null {
  return inOrder(quantity, [...candidates].sort(byStock));
}

/**
 * The fewest locations that cover the line: one when one can (the first by priority, then code,
 * of those that can), otherwise the most stocked first, which needs the fewest (ties by priority,
 * then code).
 */
export function fewestSplits(quantity: number, candidates: Candidate[]): Allocation[] | null {
  const single = candidates.filter((c) => c.available >= quantity).sort(byPriority)[0];
  if (single) return [{ locationId: single.locationId, quantity }];
  return mostStock(quantity, candidates);
}

export const strategies: Record<AllocationStrategy, (quantity: number, candidates: Candidate[]) => Allocation[] | null> = {
  'fewest-splits': fewestSplits,
  priority: byPriorityOrder,
  'most-stock': mostStock,
};
