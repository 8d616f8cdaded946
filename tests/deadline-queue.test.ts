import { expect, test } from 'bun:test';
import { DeadlineQueue } from '../src/lib/deadline-queue.ts';

test('deadlines fire in order, no earlier than their time and at most a tick late; removed ones never fire', async () => {
  const queue = new DeadlineQueue(100, 10);
  const fired: [string, number][] = [];
  const started = performance.now();
  const at = (name: string) => () => fired.push([name, performance.now() - started]);
  queue.add(at('a'));
  const removed = queue.add(at('removed'));
  await Bun.sleep(30);
  queue.add(at('b'));
  queue.remove(removed);
  await Bun.sleep(200);
  expect(fired.map(([name]) => name)).toEqual(['a', 'b']);
  expect(fired[0]![1]).toBeGreaterThanOrEqual(99);
  expect(fired[0]![1]).toBeLessThan(100 + 10 + 50); // a tick late, plus scheduling slack
  expect(fired[1]![1]).toBeGreaterThanOrEqual(129);
});
