import { heapStats } from 'bun:jsc';
import { Elysia } from 'elysia';
import type { Sql } from '../../src/db/client.ts';
import { authPlugin, type Tokens } from '../../src/http/auth.ts';
import type { Service } from '../../src/service.ts';
import { ceilingRoutes } from './ceiling.ts';
import { naiveRoutes } from './naive.ts';

/** Everything the bench mounts on top of the normal service: two comparison routes and the counters. */
export function benchRoutes(service: Service, sql: Sql, tokens: Tokens) {
  return new Elysia()
    .use(ceilingRoutes(tokens))
    .use(naiveRoutes(sql, tokens))
    .use(authPlugin(tokens))
    .get(
      '/bench/stats',
      () => {
        const heap = heapStats();
        return {
          memory: process.memoryUsage(),
          heap: { size: heap.heapSize, capacity: heap.heapCapacity, objects: heap.objectCount },
          intake: service.intake.stats,
          actors: service.actors.stats(),
          pipeline: service.pipeline.stats(),
          recovery: service.recovery.stats,
        };
      },
      { role: 'admin', detail: { hide: true } },
    );
}
