import { expect } from 'bun:test';
import type { Executor } from '../../src/db/client.ts';
import { stockViolations, type ProviderBooks } from './violations.ts';

export { stockViolations };

/** The invariants of `stockViolations`, asserted: the report names what broke. Given the provider's books, refunds are checked against them too. */
export async function expectStockConsistent(sql: Executor, provider?: ProviderBooks) {
  const found = await stockViolations(sql, provider);
  expect({ ...found, products: 0, lines: 0 }).toEqual({
    products: 0,
    lines: 0,
    outOfRange: [],
    ledger: [],
    held: [],
    holds: [],
    conversions: [],
    unshipped: [],
    incoming: [],
    transfers: [],
    shipments: [],
    refunds: [],
    sums: [],
    sales: [],
    attribution: [],
  });
}
