import { expect, test } from 'bun:test';
import { DeadlineQueue } from '../src/lib/deadline-queue.ts';
import { waitFor } from './support/wait.ts';

test('deadlines fire in order, no earlier than their time, at the first tick after it; removed ones never fire', () => {
  let now = 0;
  const queue = new DeadlineQueue(100, 10, () => now);
  const fired: string[] = [];
  const at = (name: string) => () => fired.push(name);
  queue.add(at('a'));
  const removed = queue.add(at('removed'));
  now = 30;
  queue.add(at('b'));
  queue.remove(removed);
  const tickAt = (ms: number) => {
    now = ms;
    queue.tick();
    return [...fired];
  };
  expect(tickAt(99)).toEqual([]);
  expect(tickAt(100)).toEqual(['a']);
  expect(tickAt(129)).toEqual(['a']);
  expect(tickAt(130)).toEqual(['a', 'b']);
  expect(tickAt(10_000)).toEqual(['a', 'b']);
});

test('the queue ticks on its own timer: a due deadline fires without anyone calling tick()', async () => {
  let now = 0;
  const queue = new DeadlineQueue(100, 10, () => now);
  let fired = 0;
  queue.add(() => fired++);
  now = 100;
  // The timer runs every tickMs (10 ms): a bound of a second is for a loaded machine, not for timing.
  await waitFor(() => fired === 1, 1000, 'the timer to fire the due deadline');
});
