import { expect } from 'bun:test';
import type { Executor } from '../../src/db/client.ts';
import { stockViolations } from './violations.ts';

export { stockViolations };

/** The invariants of `stockViolations`, asserted: the report names what broke. */
export async function expectStockConsistent(sql: Executor) {
  const found = await stockViolations(sql);
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
    sums: [],
    sales: [],
    attribution: [],
  });
}
