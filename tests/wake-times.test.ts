import { describe, expect, test } from 'bun:test';
import { WakeTimes } from '../src/lib/wake-times.ts';
import { waitFor } from './support/wait.ts';

describe('wake times', () => {
  test('a later due time is kept while an earlier one is pending, and fires after it', async () => {
    const fired: number[] = [];
    const wake = new WakeTimes(() => fired.push(Date.now()), () => Date.now(), 10);
    const start = Date.now();
    wake.add(start + 40);
    wake.add(start + 300);
    await waitFor(() => fired.length >= 2, 5_000, 'two wake-ups');
    expect(fired[0]! - start).toBeGreaterThanOrEqual(40);
    expect(fired[1]! - start).toBeGreaterThanOrEqual(300);
    expect(wake.size).toBe(0);
    wake.stop();
  });

  test('an earlier due time added later re-arms the timer for it', async () => {
    const fired: number[] = [];
    const wake = new WakeTimes(() => fired.push(Date.now()), () => Date.now(), 10);
    const start = Date.now();
    wake.add(start + 5_000);
    wake.add(start + 30);
    await waitFor(() => fired.length >= 1, 2_000, 'the earlier wake-up');
    expect(wake.size).toBe(1);
    wake.stop();
  });

  test('due times within one granularity share a wake-up; stop forgets them all', async () => {
    let fired = 0;
    const wake = new WakeTimes(() => fired++, () => Date.now(), 1_000);
    const base = Math.ceil(Date.now() / 1_000) * 1_000 + 1_000;
    for (let i = 1; i < 10; i++) wake.add(base + i);
    expect(wake.size).toBe(1);
    wake.add(base + 1_500);
    expect(wake.size).toBe(2);
    wake.stop();
    expect(wake.size).toBe(0);
    wake.add(Date.now());
    expect(wake.size).toBe(0);
    expect(fired).toBe(0);
  });
});
