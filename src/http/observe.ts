import { Elysia } from 'elysia';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../modules/metrics/metrics.ts';

const started = new WeakMap<Request, number>();
/** Label values come from a fixed set: a client inventing methods must not invent series. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * After each response (off the request's own path): its duration into the histogram, and one
 * access-log line carrying the request id (at `debug` for the hot, successful paths).
 */
export function observe(logger: Logger, metrics: Metrics) {
  // One labelled child per (method, route, status), so a request costs a map lookup, not label hashing.
  const series = new Map<string, { observe(seconds: number): void }>();
  const histogramFor = (method: string, route: string, status: number) => {
    const key = `${method} ${status} ${route}`;
    let child = series.get(key);
    if (!child) {
      child = metrics.httpDuration.labels({ method, route, status });
      series.set(key, child);
    }
    return child;
  };
  return new Elysia({ name: 'observe' })
    .onRequest(({ request }) => {
      started.set(request, performance.now());
    })
    .onAfterResponse({ as: 'global' }, ({ request, route, set }) => {
      const begin = started.get(request);
      if (begin === undefined) return;
      const seconds = (performance.now() - begin) / 1000;
      const status = typeof set.status === 'number' ? set.status : 200;
      const label = route || 'unmatched';
      const method = METHODS.has(request.method) ? request.method : 'OTHER';
      histogramFor(method, label, status).observe(seconds);
      const level = status >= 500 ? 'error' : status >= 400 ? 'info' : 'debug';
      if (logger.isLevelEnabled(level)) {
        logger[level]({ requestId: set.headers['x-request-id'], method, route: label, status, ms: Math.round(seconds * 10_000) / 10 }, 'request');
      }
    });
}
