import { heapStats } from 'bun:jsc';
import { Elysia } from 'elysia';
import type { Sql } from '../../src/db/client.ts';
import type { Service } from '../../src/service.ts';
import { ceilingRoutes } from './ceiling.ts';
import { naiveRoutes } from './naive.ts';

/** Everything the bench mounts on top of the normal service: two comparison routes and the counters. */
export function benchRoutes(service: Service, sql: Sql) {
  return new Elysia()
    .use(ceilingRoutes())
    .use(naiveRoutes(sql))
    .get(
      '/bench/stats',
      async () => {
        const heap = heapStats();
        return {
          // With WORKERS > 1 any process may answer, and these figures are that one's.
          node: service.node.nodeId,
          memory: process.memoryUsage(),
          heap: { size: heap.heapSize, capacity: heap.heapCapacity, objects: heap.objectCount },
          actors: service.actors.stats(),
          worker: { inFlight: service.orders.worker.size },
        };
      },
      { detail: { hide: true } },
    );
}
