import { describe, expect, test } from 'bun:test';
import { byPriorityOrder, fewestSplits, mostStock, type Candidate } from '../src/actors/allocation.ts';

const at = (code: string, priority: number, available: number): Candidate => ({ locationId: `loc-${code}`, code, priority, available });
const A = at('A', 10, 10);
const B = at('B', 20, 15);
const split = (allocations: { locationId: string; quantity: number }[] | null) => allocations?.map((a) => `${a.locationId.slice(4)} ${a.quantity}`);

describe("API.md's example: 10 at A (priority 10), 15 at B (priority 20)", () => {
  test('a line for 20: B 15 + A 5 under fewest-splits, A 10 + B 10 under priority, B 15 + A 5 under most-stock', () => {
    expect(split(fewestSplits(20, [A, B]))).toEqual(['B 15', 'A 5']);
    expect(split(byPriorityOrder(20, [A, B]))).toEqual(['A 10', 'B 10']);
    expect(split(mostStock(20, [A, B]))).toEqual(['B 15', 'A 5']);
  });

  test('a line for 13: B 13 under fewest-splits and most-stock, A 10 + B 3 under priority', () => {
    expect(split(fewestSplits(13, [A, B]))).toEqual(['B 13']);
    expect(split(mostStock(13, [A, B]))).toEqual(['B 13']);
    expect(split(byPriorityOrder(13, [A, B]))).toEqual(['A 10', 'B 3']);
  });

  test('more than all of them together: null (all or nothing), whatever the strategy', () => {
    for (const strategy of [fewestSplits, byPriorityOrder, mostStock]) expect(strategy(26, [A, B])).toBeNull();
  });
});

describe('each strategy on its own', () => {
  test('fewest-splits: of the locations that can cover the line alone, the first by priority, then code', () => {
    expect(split(fewestSplits(5, [B, A]))).toEqual(['A 5']);
    expect(split(fewestSplits(5, [at('Y', 5, 9), at('X', 5, 9)]))).toEqual(['X 5']);
  });

  test('fewest-splits: when none can, as few as possible (the most stocked first), ties by priority then code', () => {
    const locations = [at('S1', 50, 4), at('S2', 40, 4), at('W', 90, 6), at('X', 10, 1)];
    expect(split(fewestSplits(10, locations))).toEqual(['W 6', 'S2 4']);
  });

  test('priority: ties in priority go by code', () => {
    expect(split(byPriorityOrder(7, [at('B', 1, 5), at('A', 1, 5)]))).toEqual(['A 5', 'B 2']);
  });

  test('most-stock: ties in stock go by priority', () => {
    expect(split(mostStock(7, [at('A', 9, 5), at('B', 1, 5)]))).toEqual(['B 5', 'A 2']);
  });

  test('nothing is taken from a location with nothing available (or less than nothing)', () => {
    const locations = [at('E', 1, 0), at('N', 2, -3), at('F', 3, 4)];
    for (const strategy of [fewestSplits, byPriorityOrder, mostStock]) expect(split(strategy(4, locations))).toEqual(['F 4']);
  });

  test('never more than a location has, and exactly the line: checked over many random cases', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < 2000; i++) {
      const locations = Array.from({ length: 1 + Math.floor(random() * 6) }, (_, n) => at(`L${n}`, Math.floor(random() * 5), Math.floor(random() * 12)));
      const quantity = 1 + Math.floor(random() * 30);
      const total = locations.reduce((sum, l) => sum + Math.max(0, l.available), 0);
      for (const strategy of [fewestSplits, byPriorityOrder, mostStock]) {
        const allocations = strategy(quantity, locations);
        if (total < quantity) {
          expect(allocations).toBeNull();
          continue;
        }
        expect(allocations!.reduce((sum, a) => sum + a.quantity, 0)).toBe(quantity);
        for (const a of allocations!) {
          expect(a.quantity).toBeGreaterThan(0);
          expect(a.quantity).toBeLessThanOrEqual(locations.find((l) => l.locationId === a.locationId)!.available);
        }
        expect(new Set(allocations!.map((a) => a.locationId)).size).toBe(allocations!.length);
      }
      // Fewest splits is never beaten on the number of locations by the other two.
      const fewest = fewestSplits(quantity, locations);
      if (fewest) for (const other of [byPriorityOrder, mostStock]) expect(fewest.length).toBeLessThanOrEqual(other(quantity, locations)!.length);
    }
  });
});
